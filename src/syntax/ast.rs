//! The abstract syntax tree. Every node keeps the byte span it was parsed from.
//!
//! The AST is a faithful picture of the text: nothing is resolved or evaluated here.
//! Comments are collected in [`File::comments`] so that the formatter can keep them.

use crate::source::{FileId, Span};

/// A parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub file: FileId,
    pub items: Vec<Item>,
    /// Every comment in the file, in source order.
    pub comments: Vec<Comment>,
}

/// A `# …` comment. `text` excludes the `#`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Import),
    Network(Def),
    Block(Def),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Network(d) | Item::Block(d) => d.span,
        }
    }
}

/// `import "path" (names)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub path: String,
    pub path_span: Span,
    /// `None` imports every block of the file.
    pub names: Option<Vec<Ident>>,
    pub span: Span,
}

/// A `network` or a `block` definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Def {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Body,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// `int`, `float`, `bool`, … as written; elaboration checks the name.
    Named(String),
    List(Box<TypeExpr>),
    Enum(Vec<Ident>),
}

/// Statements in braces.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

// Statements are built once by the parser and only borrowed afterwards, so the size
// difference between variants costs nothing worth an extra indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `input [3, 224, 224]`.
    Input(Expr),
    /// `let name = value`.
    Let { name: Ident, value: Expr },
    /// `let [a, b] = value`: binds each element of a list to a name (`_` ignores one).
    /// `pattern` is the span of the bracketed names.
    LetList {
        names: Vec<Ident>,
        pattern: Span,
        value: Expr,
    },
    /// `assert cond, "message"`.
    Assert { cond: Expr, message: Option<String> },
    /// `stage name { … }` / `stage name: stmt`, with an optional `with shortcut KIND`.
    /// `colon` records which of the two forms was written (for the formatter).
    Stage {
        name: Ident,
        body: Body,
        colon: bool,
        with_shortcut: Option<Call>,
    },
    /// `repeat count [as index] body`; `braces` is false for `repeat n stmt`.
    /// `let name = repeat …` is a repeat with `collect`: `name` is bound to the list of
    /// every repetition's result.
    Repeat {
        count: Expr,
        index: Option<Ident>,
        body: Body,
        braces: bool,
        collect: Option<Ident>,
    },
    /// `residual [from T] { … } [shortcut …]`.
    Residual {
        from: Option<Expr>,
        body: Body,
        shortcut: Option<ShortcutClause>,
    },
    /// `csp(args) { … }`.
    Csp {
        args: Vec<Arg>,
        args_span: Span,
        body: Body,
    },
    /// `if cond { … } else { … }`; `else if` is an `otherwise` body holding one `If`.
    If {
        cond: Expr,
        then: Body,
        otherwise: Option<Body>,
    },
    /// `train { key: value, … }`: the training recipe.
    Train { entries: Vec<Arg> },
    /// `names framework { "pattern" -> "replacement", … }`: a framework's layer names.
    Names {
        framework: Ident,
        rules: Vec<NameRule>,
    },
    /// A tensor expression as a statement, optionally naming its node (`as name`).
    Expr { expr: Expr, alias: Option<Ident> },
}

/// `"pattern" -> "replacement"` of a `names` statement; the strings without quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct NameRule {
    pub pattern: String,
    pub replacement: String,
    pub span: Span,
}

/// `shortcut first [or second]`, each kind optionally with `from T`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShortcutClause {
    pub first: ShortcutKind,
    pub second: Option<ShortcutKind>,
    pub span: Span,
}

/// `projection(bn: false) from o1`: a shortcut kind and the value it reads (default:
/// the residual's input). `from` is `ExprKind::In` or a name (`ExprKind::Call` without
/// arguments).
#[derive(Clone, Debug, PartialEq)]
pub struct ShortcutKind {
    pub call: Call,
    pub from: Option<Expr>,
    pub span: Span,
}

/// `name` or `name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    /// `None` when written without parentheses.
    pub args: Option<Vec<Arg>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The name of a named argument (`k: 3`).
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    List(Vec<Expr>),
    /// `in`.
    In,
    /// A name, or a call of a layer, block or function.
    Call(Call),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Index(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a | f`: feed the tensor `a` into the layer or block `f`.
    Pipe,
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    /// `a ** b`: right-associative, tighter than unary minus (`-2 ** 2 == -4`).
    Pow,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Pipe => "|",
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Rem => "%",
            BinaryOp::Pow => "**",
        }
    }
}
