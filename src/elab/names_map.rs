//! `names framework { "pattern" -> "replacement", … }`: how a framework names the
//! network's layers, checked here (with spans) and carried to the weight loader, so that
//! a model file loads that framework's state dicts without a hand-written table.

use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Ident, NameRule};

/// A framework's names for the network's layers: rules over dot-separated segments.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkNames {
    pub framework: String,
    /// `(pattern, replacement)`, tried in order.
    pub rules: Vec<(String, String)>,
    pub span: Span,
}

/// The number of wildcards (`*`, `**`) of a rule side, or why it is malformed.
fn wildcards(side: &str) -> Result<usize, String> {
    if side.is_empty() {
        return Err("an empty name".into());
    }
    let mut count = 0;
    for segment in side.split('.') {
        match segment {
            "" => return Err(format!("`{side}` has an empty segment")),
            "*" | "**" => count += 1,
            s if s.contains('*') => {
                return Err(format!(
                    "`{s}`: a wildcard is a whole segment (`*` or `**`)"
                ))
            }
            _ => {}
        }
    }
    Ok(count)
}

impl Elab<'_> {
    /// Checks a `names` statement and records it.
    pub(super) fn names(
        &mut self,
        framework: &Ident,
        rules: &[NameRule],
        span: Span,
        network_top: bool,
    ) {
        if !network_top {
            self.report(
                Diagnostic::error(Code::E0215, "layer names belong at the top of a network")
                    .at(span, "`names` inside a block, stage or branch")
                    .hint("move `names … { … }` into the network's body"),
            );
            return;
        }
        if let Some(first) = self
            .name_maps
            .iter()
            .find(|m| m.framework == framework.name)
        {
            let first = first.span;
            self.report(
                Diagnostic::error(
                    Code::E0207,
                    format!("the names for `{}` are given twice", framework.name),
                )
                .at(framework.span, "given again here")
                .at(first, "first given here"),
            );
            return;
        }
        let mut good = Vec::new();
        for rule in rules {
            match (wildcards(&rule.pattern), wildcards(&rule.replacement)) {
                (Ok(p), Ok(r)) if r <= p => {
                    good.push((rule.pattern.clone(), rule.replacement.clone()));
                }
                (Ok(p), Ok(r)) => {
                    self.report(
                        Diagnostic::error(
                            Code::E0205,
                            format!("the replacement has {r} wildcards, the pattern only {p}"),
                        )
                        .at(
                            rule.span,
                            "each wildcard of the replacement takes one of the pattern's captures",
                        ),
                    );
                }
                (Err(e), _) | (_, Err(e)) => {
                    self.report(
                        Diagnostic::error(Code::E0205, format!("a malformed name rule: {e}")).at(
                            rule.span,
                            "segments separated by `.`; `*` one segment, `**` any number",
                        ),
                    );
                }
            }
        }
        // Recorded even with bad rules (the compilation fails anyway), so that a second
        // declaration is reported too.
        self.name_maps.push(FrameworkNames {
            framework: framework.name.clone(),
            rules: good,
            span,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::wildcards;

    #[test]
    fn wildcards_are_whole_segments() {
        assert_eq!(wildcards("*.*.residual.**"), Ok(3));
        assert_eq!(wildcards("conv1"), Ok(0));
        assert!(wildcards("layer*.0").unwrap_err().contains("whole segment"));
        assert!(wildcards("a..b").unwrap_err().contains("empty segment"));
        assert!(wildcards("").is_err());
    }
}
