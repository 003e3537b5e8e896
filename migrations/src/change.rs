//! The schema changes the migrations make, each written once: a table created unless it exists,
//! an index, columns added or dropped, tables dropped. Each change is its own statement: SQLite
//! alters one column at a time.

use sea_orm_migration::prelude::*;

/// Creates `table` unless a table of its name exists.
///
/// # Errors
/// The database's, as [`DbErr`].
pub async fn create_table(
    manager: &SchemaManager<'_>,
    table: &mut TableCreateStatement,
) -> Result<(), DbErr> {
    manager.create_table(table.if_not_exists().to_owned()).await
}

/// Creates the index `name` on `table` over `columns`, in that order.
///
/// # Errors
/// The database's, as [`DbErr`].
pub async fn create_index<C: IntoIndexColumn>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    manager.create_index(index(name, table, columns)).await
}

/// Creates the unique index `name` on `table` over `columns`, in that order.
///
/// # Errors
/// The database's, as [`DbErr`].
pub async fn create_unique_index<C: IntoIndexColumn>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    manager
        .create_index(index(name, table, columns).unique().to_owned())
        .await
}

/// Drops the index `name` of `table`.
///
/// # Errors
/// The database's, as [`DbErr`].
pub async fn drop_index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table).to_owned())
        .await
}

/// Adds `columns` to `table`, one statement each, in order.
///
/// # Errors
/// The database's, as [`DbErr`]; the columns before the failed one stay added.
pub async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
    alter_each(manager, table, columns, |alter, column| {
        alter.add_column(column);
    })
    .await
}

/// Drops `columns` from `table`, one statement each, in order.
///
/// # Errors
/// The database's, as [`DbErr`]; the columns before the failed one stay dropped.
pub async fn drop_columns<C: IntoIden>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    alter_each(manager, table, columns, |alter, column| {
        alter.drop_column(column);
    })
    .await
}

/// One `ALTER TABLE` statement on `table` per item, made by `change`, run in order.
async fn alter_each<T>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    items: impl IntoIterator<Item = T>,
    change: impl Fn(&mut TableAlterStatement, T),
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for item in items {
        let mut alter = Table::alter();
        alter.table(table.clone());
        change(&mut alter, item);
        manager.alter_table(alter).await?;
    }
    Ok(())
}

/// Drops `tables`, one statement each, in order (those that others refer to last).
///
/// # Errors
/// The database's, as [`DbErr`]; the tables before the failed one stay dropped.
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = DynIden>,
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}

/// The index `name` on `table` over `columns`, in that order.
fn index<C: IntoIndexColumn>(
    name: &str,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}
