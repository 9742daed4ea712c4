//! The one SQL surface both databases offer the store: statements with `?N` parameters that
//! are either integers or text, and rows of integers and text. The store's queries are written
//! once in the dialect SQLite and PostgreSQL share; the few places that differ ask `dialect()`.

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::StoreError;

/// Which database a statement runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One statement parameter. The type is kept for a NULL too, because PostgreSQL checks each
/// parameter's type against its column.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(Some(value))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Param::Int(value)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Param::Text(value)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Param::Text(value.as_deref())
    }
}

/// The parameters of a statement, in order: `args![id, now]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::Param::from($value)),*]
    };
}
pub(crate) use args;

/// One value of a result row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One result row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, index: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(index)
            .ok_or_else(|| StoreError::Corrupt(format!("a result row has no column {index}")))
    }

    pub fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.opt_int(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {index} is NULL")))
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(index)? {
            Cell::Null => Ok(None),
            Cell::Int(value) => Ok(Some(*value)),
            Cell::Text(_) => Err(StoreError::Corrupt(format!(
                "column {index} holds text where a number belongs"
            ))),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, StoreError> {
        self.opt_text(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {index} is NULL")))
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        match self.cell(index)? {
            Cell::Null => Ok(None),
            Cell::Text(value) => Ok(Some(value.clone())),
            Cell::Int(_) => Err(StoreError::Corrupt(format!(
                "column {index} holds a number where text belongs"
            ))),
        }
    }
}

/// A connection (or a transaction on one) that runs the store's statements.
pub trait Sql {
    /// Runs a statement; returns how many rows it changed.
    fn exec(&mut self, sql: &str, args: &[Param<'_>]) -> Result<u64, StoreError>;

    /// Runs a query; returns every row.
    fn rows(&mut self, sql: &str, args: &[Param<'_>]) -> Result<Vec<Row>, StoreError>;

    fn dialect(&self) -> Dialect;

    /// The first row of a query, if there is one.
    fn row(&mut self, sql: &str, args: &[Param<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }

    /// A single integer (`SELECT COUNT(*) …`).
    fn count(&mut self, sql: &str, args: &[Param<'_>]) -> Result<i64, StoreError> {
        match self.row(sql, args)? {
            Some(row) => row.int(0),
            None => Err(StoreError::Corrupt(format!("no row from: {sql}"))),
        }
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Int(Some(value)) => ValueRef::Integer(value),
            Param::Text(Some(value)) => ValueRef::Text(value.as_bytes()),
            Param::Int(None) | Param::Text(None) => ValueRef::Null,
        }))
    }
}

/// SQLite through one rusqlite connection (or a transaction, which derefs to one).
pub struct Lite<'c>(pub &'c rusqlite::Connection);

impl Sql for Lite<'_> {
    fn exec(&mut self, sql: &str, args: &[Param<'_>]) -> Result<u64, StoreError> {
        let mut statement = self.0.prepare_cached(sql)?;
        let changed = statement.execute(rusqlite::params_from_iter(args.iter()))?;
        Ok(changed as u64)
    }

    fn rows(&mut self, sql: &str, args: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let mut statement = self.0.prepare_cached(sql)?;
        let width = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for index in 0..width {
                cells.push(match row.get_ref(index)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(value) => Cell::Int(value),
                    ValueRef::Text(bytes) => {
                        Cell::Text(String::from_utf8(bytes.to_vec()).map_err(|_| {
                            StoreError::Corrupt(format!("column {index} is not UTF-8"))
                        })?)
                    }
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt(format!(
                            "column {index} is neither a number nor text"
                        )))
                    }
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

/// Rewrites SQLite's `?N` parameters as PostgreSQL's `$N`. The store's statements hold no `?`
/// inside string literals, so a plain scan is exact.
pub fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_for_postgres() {
        assert_eq!(
            numbered_params("UPDATE t SET a = ?2 WHERE id = ?1 AND b IS NOT DISTINCT FROM ?10"),
            "UPDATE t SET a = $2 WHERE id = $1 AND b IS NOT DISTINCT FROM $10"
        );
        assert_eq!(numbered_params("SELECT '?' "), "SELECT '?' ");
    }

    #[test]
    fn sqlite_rows_keep_types_and_nulls() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut sql = Lite(&conn);
        sql.exec("CREATE TABLE t (a INTEGER, b TEXT)", &[]).unwrap();
        let none: Option<&str> = None;
        assert_eq!(
            sql.exec("INSERT INTO t VALUES (?1, ?2)", args![7, none])
                .unwrap(),
            1
        );
        let row = sql.row("SELECT a, b FROM t", &[]).unwrap().unwrap();
        assert_eq!((row.int(0).unwrap(), row.opt_text(1).unwrap()), (7, None));
        assert!(row.text(0).is_err(), "a number is not text");
        assert!(row.int(5).is_err(), "no such column");
    }
}
