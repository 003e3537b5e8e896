//! Case-insensitive "contains" matching for the search boxes, the same on SQLite and PostgreSQL.

use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, LikeExpr, SimpleExpr};

/// `LOWER(column) LIKE '%part%'` with `part`'s own `%`, `_` and `!` taken literally.
pub fn contains(column: impl IntoColumnRef, part: &str) -> SimpleExpr {
    let mut pattern = String::with_capacity(part.len() + 2);
    pattern.push('%');
    for c in part.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('!'))
}
