//! Limits on the shape of an operation, checked right after parsing and before any
//! resolver (and so any database work) runs.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerError, ServerResult};

/// Caps aliases, root fields and fields per operation: a cheap query repeated under a
/// thousand aliases would otherwise pass the depth and complexity limits.
#[derive(Clone, Copy, Debug)]
pub struct ShapeLimits {
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Fields once every fragment is spread in; the complexity limit, checked here too
    /// because the validation that computes complexity spreads a fragment again at every
    /// use, and a few dozen fragments that each spread the previous one twice would keep
    /// it busy for hours.
    pub max_fields: usize,
    /// Whether `__schema` and `__type` may be asked for. Switched off, async-graphql
    /// would answer them with a bare `null`; here they are refused with a reason.
    pub introspection: bool,
}

/// Selection sets and fragments nested in one another: far beyond any real query, and
/// low enough that walking them cannot exhaust the stack.
const MAX_NESTING: usize = 64;

/// Directives (`@include`, `@skip`) in one operation with its fragments spread in. A
/// frontend's operation uses a handful; thousands of them would otherwise each be
/// validated, and each bad one reported.
pub const MAX_DIRECTIVES: usize = 100;

/// Directives on one field (async-graphql's own check, `limit_directives`).
pub const MAX_DIRECTIVES_PER_FIELD: usize = 8;

/// Errors in one answer: the first ones, then one saying how many more were left out.
/// A document with thousands of unknown fields would otherwise be answered with an
/// error for each, many times its own size.
pub const MAX_ERRORS_PER_ANSWER: usize = 100;

/// Cuts a list of errors down to `MAX_ERRORS_PER_ANSWER`: the last one left says how
/// many more there were (`TOO_MANY_ERRORS`, with `leftOut`).
pub fn cap_errors(errors: &mut Vec<ServerError>) {
    if errors.len() <= MAX_ERRORS_PER_ANSWER {
        return;
    }
    let kept = MAX_ERRORS_PER_ANSWER - 1;
    let count = errors.len() - kept;
    errors.truncate(kept);
    errors.push(crate::error::AppError::ErrorsLeftOut { count }.into_server_error());
}

/// What a selection set adds up to with its fragments spread in.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    aliases: usize,
    fields: usize,
    /// Fields at the top of the set, written there or in fragments spread there.
    top_fields: usize,
    /// Of those, `__schema` and `__type`.
    top_introspection: usize,
    /// Levels of selection sets and fragments below and including this set.
    height: usize,
    /// Directives on the fields and fragments of the set, fragments spread in.
    directives: usize,
}

impl Shape {
    /// A field, with its own selection set `inner` one level down.
    fn field(inner: Shape, aliased: bool, introspection: bool, directives: usize) -> Shape {
        Shape {
            aliases: inner.aliases.saturating_add(usize::from(aliased)),
            fields: inner.fields.saturating_add(1),
            top_fields: 1,
            top_introspection: usize::from(introspection),
            height: inner.height + 1,
            directives: inner.directives.saturating_add(directives),
        }
    }

    /// A fragment spread or inline fragment (with `directives` of its own): its fields
    /// sit at the level it is spread at.
    fn fragment(inner: Shape, directives: usize) -> Shape {
        Shape {
            height: inner.height + 1,
            directives: inner.directives.saturating_add(directives),
            ..inner
        }
    }

    /// Two selections side by side.
    fn beside(self, other: Shape) -> Shape {
        Shape {
            aliases: self.aliases.saturating_add(other.aliases),
            fields: self.fields.saturating_add(other.fields),
            top_fields: self.top_fields.saturating_add(other.top_fields),
            top_introspection: self
                .top_introspection
                .saturating_add(other.top_introspection),
            height: self.height.max(other.height),
            directives: self.directives.saturating_add(other.directives),
        }
    }
}

/// Measures selection sets, each fragment once: a fragment spread many times costs one
/// lookup per spread, not a walk.
struct Measure<'d> {
    document: &'d ExecutableDocument,
    fragments: HashMap<&'d str, Shape>,
    entered: HashSet<&'d str>,
}

/// The operation nests deeper than `MAX_NESTING`.
struct TooDeep;

impl<'d> Measure<'d> {
    fn new(document: &'d ExecutableDocument) -> Self {
        Self {
            document,
            fragments: HashMap::new(),
            entered: HashSet::new(),
        }
    }

    /// The shape of a set that sits `depth` levels down.
    fn selection_set(&mut self, set: &'d SelectionSet, depth: usize) -> Result<Shape, TooDeep> {
        if depth > MAX_NESTING {
            return Err(TooDeep);
        }
        let mut shape = Shape::default();
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => {
                    let inner = self.selection_set(&field.node.selection_set.node, depth + 1)?;
                    let name = field.node.name.node.as_str();
                    Shape::field(
                        inner,
                        field.node.alias.is_some(),
                        name == "__schema" || name == "__type",
                        field.node.directives.len(),
                    )
                }
                Selection::InlineFragment(fragment) => Shape::fragment(
                    self.selection_set(&fragment.node.selection_set.node, depth + 1)?,
                    fragment.node.directives.len(),
                ),
                Selection::FragmentSpread(spread) => Shape::fragment(
                    self.fragment(spread.node.fragment_name.node.as_str(), depth + 1)?,
                    spread.node.directives.len(),
                ),
            };
            shape = shape.beside(part);
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'d str, depth: usize) -> Result<Shape, TooDeep> {
        if let Some(shape) = self.fragments.get(name) {
            // Measured once, where it was first spread; here it may sit deeper.
            return if depth + shape.height > MAX_NESTING {
                Err(TooDeep)
            } else {
                Ok(*shape)
            };
        }
        // A fragment that spreads itself is a validation error, reported later.
        if !self.entered.insert(name) {
            return Ok(Shape::default());
        }
        let shape = match self.document.fragments.get(name) {
            Some(fragment) => self.selection_set(&fragment.node.selection_set.node, depth)?,
            None => Shape::default(),
        };
        self.entered.remove(name);
        self.fragments.insert(name, shape);
        Ok(shape)
    }
}

fn refused(message: String) -> ServerError {
    crate::error::AppError::bad_input(message).into_server_error()
}

impl ShapeLimits {
    fn check(&self, document: &ExecutableDocument) -> Result<(), ServerError> {
        let too_deep = |_: TooDeep| {
            refused(format!(
                "the operation nests selections and fragments more than {MAX_NESTING} levels deep"
            ))
        };
        let mut measure = Measure::new(document);
        for (_, operation) in document.operations.iter() {
            let shape = measure
                .selection_set(&operation.node.selection_set.node, 0)
                .map_err(too_deep)?;
            let directives = shape
                .directives
                .saturating_add(operation.node.directives.len());
            if directives > MAX_DIRECTIVES {
                return Err(refused(format!(
                    "the operation uses {directives} directives with its fragments spread in; at most {MAX_DIRECTIVES} are allowed"
                )));
            }
            if shape.aliases > self.max_aliases {
                return Err(refused(format!(
                    "the operation uses {} aliases; at most {} are allowed",
                    shape.aliases, self.max_aliases
                )));
            }
            if shape.fields > self.max_fields {
                return Err(refused(format!(
                    "the operation is too complex: it selects {} fields with its fragments spread in; at most {} are allowed",
                    shape.fields, self.max_fields
                )));
            }
            if !self.introspection && shape.top_introspection > 0 {
                return Err(refused(
                    "introspection is switched off on this server: `__schema` and `__type` cannot be asked for".to_owned(),
                ));
            }
            if shape.top_fields > self.max_root_fields {
                return Err(refused(format!(
                    "the operation asks for {} root fields; at most {} are allowed",
                    shape.top_fields, self.max_root_fields
                )));
            }
        }
        Ok(())
    }
}

impl ShapeLimits {
    /// Parses the document and checks it before async-graphql does anything else with it:
    /// its own checks after parsing walk every fragment again at every spread. A document
    /// that does not parse is left for async-graphql to refuse with its parse error.
    ///
    /// This runs before execution rather than as a schema extension: with any extension
    /// registered, async-graphql sends every field of an answer through the extension
    /// chain (a registry look-up and a boxed future a field), which a 1 MB answer pays
    /// 29,000 times.
    pub fn check_request(&self, request: &mut Request) -> ServerResult<()> {
        match request.parsed_query() {
            Ok(document) => self.check(document),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ShapeLimits {
        ShapeLimits {
            max_aliases: 30,
            max_root_fields: 20,
            max_fields: 5000,
            introspection: true,
        }
    }

    fn check_with(limits: ShapeLimits, query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
        limits.check(&document).map_err(|error| error.message)
    }

    fn check(query: &str) -> Result<(), String> {
        check_with(limits(), query)
    }

    /// Fragment `F{n}` spreads `F{n-1}` twice: 2^n fields from a few lines.
    fn doubling_fragments(levels: usize) -> String {
        let mut query = String::from("{ plans { ...F0 } }\nfragment F0 on Plan { key }\n");
        for level in 1..=levels {
            query.push_str(&format!(
                "fragment F{level} on Plan {{ ...F{prev} ...F{prev} }}\n",
                prev = level - 1
            ));
        }
        query.replace("...F0 } }", &format!("...F{levels} }} }}"))
    }

    #[test]
    fn fragments_spread_many_times_are_counted_at_once() {
        // `plans` and 2^12 = 4096 keys pass; 2^13 do not, and 2^60 are refused as quickly.
        assert_eq!(check(&doubling_fragments(12)), Ok(()));
        assert!(check(&doubling_fragments(13)).is_err_and(|m| m.contains("8193 fields")));
        let started = std::time::Instant::now();
        assert!(check(&doubling_fragments(60)).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn aliases_and_root_fields_in_fragments_count() {
        let aliases: String = (0..31).map(|i| format!("a{i}: key ")).collect();
        assert!(
            check(&format!(
                "{{ plans {{ ...A }} }} fragment A on Plan {{ {aliases} }}"
            ))
            .is_err_and(|m| m.contains("31 aliases"))
        );
        let roots = "plans { key } ".repeat(21);
        assert!(
            check(&format!("{{ ...R }} fragment R on Query {{ {roots} }}"))
                .is_err_and(|m| m.contains("21 root fields"))
        );
    }

    #[test]
    fn introspection_switched_off_is_refused_however_it_is_asked() {
        let closed = ShapeLimits {
            introspection: false,
            ..limits()
        };
        for query in [
            "{ __schema { types { name } } }",
            "{ t: __type(name: \"Task\") { name } }",
            "{ ... on Query { __schema { queryType { name } } } }",
            "{ ...S } fragment S on Query { __schema { queryType { name } } }",
        ] {
            assert!(
                check_with(closed, query).is_err_and(|m| m.contains("introspection")),
                "{query}"
            );
        }
        assert_eq!(check_with(closed, "{ __typename plans { key } }"), Ok(()));
    }

    #[test]
    fn a_fragment_cycle_is_left_to_validation() {
        assert_eq!(
            check("{ plans { ...A } } fragment A on Plan { key ...B } fragment B on Plan { ...A }"),
            Ok(())
        );
    }

    #[test]
    fn a_fragment_measured_high_up_still_counts_its_depth_further_down() {
        // Two chains of 40 fragments; the second ends in the first, which was measured
        // first, at the top: together they nest 80 levels.
        let mut query = String::from("{ plans { ...A0 ...B0 } }\n");
        for (chain, end) in [("A", "key"), ("B", "...A0")] {
            for level in 0..40 {
                query.push_str(&format!(
                    "fragment {chain}{level} on Plan {{ ...{chain}{} }}\n",
                    level + 1
                ));
            }
            query.push_str(&format!("fragment {chain}40 on Plan {{ {end} }}\n"));
        }
        assert!(check(&query).is_err_and(|m| m.contains("levels deep")));
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused() {
        let mut query = String::from("{ plans { ...F0 } }\n");
        for level in 0..100 {
            query.push_str(&format!(
                "fragment F{level} on Plan {{ ...F{} }}\n",
                level + 1
            ));
        }
        query.push_str("fragment F100 on Plan { key }\n");
        assert!(check(&query).is_err_and(|m| m.contains("levels deep")));
    }
}
