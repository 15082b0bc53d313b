//! Limits on the shape of an operation, checked right after parsing and before any
//! resolver (and so any database work) runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Pos, ServerError, ServerResult, Value, Variables};

/// Caps aliases and root fields per operation: a cheap query repeated under a thousand
/// aliases would otherwise pass the depth and complexity limits.
#[derive(Clone, Copy, Debug)]
pub struct ShapeLimits {
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

impl ExtensionFactory for ShapeLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

fn count_aliases(set: &SelectionSet, document: &ExecutableDocument, depth: usize) -> usize {
    // Fragments can nest; a cycle is a validation error reported later, so stop early here.
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node, document, depth + 1)
            }
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set.node, document, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map(|fragment| {
                    count_aliases(&fragment.node.selection_set.node, document, depth + 1)
                })
                .unwrap_or(0),
        })
        .sum()
}

fn count_root_fields(set: &SelectionSet, document: &ExecutableDocument, depth: usize) -> usize {
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                count_root_fields(&fragment.node.selection_set.node, document, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map(|fragment| {
                    count_root_fields(&fragment.node.selection_set.node, document, depth + 1)
                })
                .unwrap_or(0),
        })
        .sum()
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, Some(Pos::default()));
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", Value::from("BAD_USER_INPUT"));
    error.extensions = Some(extensions);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for ShapeLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        for (_, operation) in document.operations.iter() {
            let set = &operation.node.selection_set.node;
            let aliases = count_aliases(set, &document, 0);
            if aliases > self.max_aliases {
                return Err(refused(format!(
                    "the operation uses {aliases} aliases; at most {} are allowed",
                    self.max_aliases
                )));
            }
            let root_fields = count_root_fields(set, &document, 0);
            if root_fields > self.max_root_fields {
                return Err(refused(format!(
                    "the operation asks for {root_fields} root fields; at most {} are allowed",
                    self.max_root_fields
                )));
            }
        }
        Ok(document)
    }
}
