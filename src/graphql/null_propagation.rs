//! Field errors as the GraphQL specification answers them (section 6.4.4, "Handling
//! Execution Errors"): a field that failed is `null`, and when its type does not allow
//! `null` the `null` goes to its parent, up to the nearest field that allows it, or to
//! `data` itself.
//!
//! async-graphql leaves a failed field's key out of its parent instead, whatever its type,
//! and answers `null` for an object whose fields all failed. A client generated from the
//! schema then finds a key missing that the schema promised. This pass puts the answer
//! right after execution, following each error's path through the operation and the
//! schema's types. It costs nothing when there are no field errors: it runs only then.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, PathSegment, Response, Value};

/// The output types of a schema: for each object and interface, the type of each field.
pub struct OutputTypes {
    fields: HashMap<String, HashMap<String, Type>>,
    query: String,
    mutation: String,
    subscription: String,
}

impl OutputTypes {
    /// Reads the types from a schema's SDL (the schema's own `sdl()`).
    pub fn from_sdl(sdl: &str) -> Self {
        let mut types = Self {
            fields: HashMap::new(),
            query: "Query".to_owned(),
            mutation: "Mutation".to_owned(),
            subscription: "Subscription".to_owned(),
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return types;
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    if let Some(query) = schema.query {
                        types.query = query.node.to_string();
                    }
                    if let Some(mutation) = schema.mutation {
                        types.mutation = mutation.node.to_string();
                    }
                    if let Some(subscription) = schema.subscription {
                        types.subscription = subscription.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let fields = match definition.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    types.fields.insert(
                        definition.name.node.to_string(),
                        fields
                            .into_iter()
                            .map(|field| (field.node.name.node.to_string(), field.node.ty.node))
                            .collect(),
                    );
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        types
    }

    fn field_type(&self, owner: &str, field: &str) -> Option<&Type> {
        self.fields.get(owner)?.get(field)
    }

    /// Puts the nulls of a response's field errors where the specification puts them.
    /// `query` and `operation_name` are the request's own.
    pub fn propagate_nulls(&self, response: &mut Response, query: &str, operation: Option<&str>) {
        let field_errors: Vec<&[PathSegment]> = response
            .errors
            .iter()
            .map(|error| error.path.as_slice())
            .filter(|path| !path.is_empty())
            .collect();
        if field_errors.is_empty() {
            return;
        }
        let Ok(document) = async_graphql::parser::parse_query(query) else {
            return;
        };
        let Some((root_type, selection)) = self.operation_root(&document, operation) else {
            return;
        };
        let walker = Walker {
            types: self,
            document: &document,
        };
        let mut placements = Vec::new();
        for path in field_errors {
            if let Some(steps) = walker.steps(root_type, selection, path) {
                placements.push((path, steps));
            }
        }
        // First every object on an error's way is made to exist (async-graphql answers
        // `null` for an object all of whose fields failed), then each null is placed.
        let data = &mut response.data;
        for (path, steps) in &placements {
            materialize(data, path, steps);
        }
        for (path, steps) in &placements {
            place_null(data, path, steps);
        }
    }

    fn operation_root<'d>(
        &'d self,
        document: &'d ExecutableDocument,
        name: Option<&str>,
    ) -> Option<(&'d str, &'d SelectionSet)> {
        let operation = match (&document.operations, name) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name)?,
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                operations.values().next()?
            }
            _ => return None,
        };
        let root = match operation.node.ty {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        };
        Some((root.as_str(), &operation.node.selection_set.node))
    }
}

/// One segment of an error's path, as the schema types it.
struct Step {
    /// Whether the value at this segment may be `null`.
    nullable: bool,
    /// For a field: the response keys of its parent's selection, in the order asked, so a
    /// key put back goes where the client asked for it.
    keys_in_order: Vec<Name>,
}

/// Where a selection's fields are looked up: the selection and the type it selects on.
type Scope<'d> = (&'d SelectionSet, &'d str);

struct Walker<'d> {
    types: &'d OutputTypes,
    document: &'d ExecutableDocument,
}

impl<'d> Walker<'d> {
    /// The steps of an error's path, or `None` when the path does not follow the operation.
    fn steps(
        &self,
        root: &'d str,
        selection: &'d SelectionSet,
        path: &[PathSegment],
    ) -> Option<Vec<Step>> {
        let mut scopes: Vec<Scope<'d>> = vec![(selection, root)];
        // The type of the value reached so far, once a field has been crossed.
        let mut current: Option<&'d Type> = None;
        let mut steps = Vec::with_capacity(path.len());
        for segment in path {
            match segment {
                PathSegment::Field(key) => {
                    let mut keys_in_order = Vec::new();
                    let mut found: Option<(&'d Type, Vec<Scope<'d>>)> = None;
                    for (selection, owner) in &scopes {
                        self.collect(selection, owner, key, &mut keys_in_order, &mut found);
                    }
                    let (field_type, below) = found?;
                    steps.push(Step {
                        nullable: field_type.nullable,
                        keys_in_order,
                    });
                    current = Some(field_type);
                    scopes = below;
                }
                PathSegment::Index(_) => {
                    let BaseType::List(item) = &current?.base else {
                        return None;
                    };
                    steps.push(Step {
                        nullable: item.nullable,
                        keys_in_order: Vec::new(),
                    });
                    current = Some(item);
                }
            }
        }
        Some(steps)
    }

    /// Walks one selection on `owner`: notes every response key in order, and for the
    /// fields answering `key`, their type and the selections below them.
    fn collect(
        &self,
        selection: &'d SelectionSet,
        owner: &'d str,
        key: &str,
        keys_in_order: &mut Vec<Name>,
        found: &mut Option<(&'d Type, Vec<Scope<'d>>)>,
    ) {
        for item in &selection.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let response_key = field.response_key().node.clone();
                    if !keys_in_order.contains(&response_key) {
                        keys_in_order.push(response_key.clone());
                    }
                    if response_key.as_str() != key {
                        continue;
                    }
                    let Some(field_type) = self.types.field_type(owner, field.name.node.as_str())
                    else {
                        continue;
                    };
                    let below = named_type(field_type);
                    let entry = found.get_or_insert_with(|| (field_type, Vec::new()));
                    entry.1.push((&field.selection_set.node, below));
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment
                        .type_condition
                        .as_ref()
                        .map_or(owner, |condition| condition.node.on.node.as_str());
                    self.collect(&fragment.selection_set.node, on, key, keys_in_order, found);
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name) {
                        let fragment = &fragment.node;
                        let on = fragment.type_condition.node.on.node.as_str();
                        self.collect(&fragment.selection_set.node, on, key, keys_in_order, found);
                    }
                }
            }
        }
    }
}

/// The named type inside a type's lists and non-null wrappers.
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named_type(item),
    }
}

/// Makes every object on the way to an error's field exist: an object async-graphql
/// answered `null` because all its fields failed becomes an empty object, to take the
/// fields' own nulls.
fn materialize(data: &mut Value, path: &[PathSegment], steps: &[Step]) {
    let mut value = data;
    for (index, segment) in path.iter().enumerate() {
        if matches!(value, Value::Null) {
            *value = Value::Object(Default::default());
        }
        let is_last = index + 1 == path.len();
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => {
                if is_last {
                    return;
                }
                let key = Name::new(key);
                if !object.contains_key(&key) {
                    insert_in_order(
                        object,
                        key.clone(),
                        Value::Null,
                        &steps[index].keys_in_order,
                    );
                }
                match object.get_mut(&key) {
                    Some(value) => value,
                    None => return,
                }
            }
            (PathSegment::Index(position), Value::List(items)) if !is_last => {
                match items.get_mut(*position) {
                    Some(value) => value,
                    None => return,
                }
            }
            _ => return,
        };
    }
}

/// Sets to `null` the deepest value on an error's path whose type allows it; `data` when
/// none does.
fn place_null(data: &mut Value, path: &[PathSegment], steps: &[Step]) {
    let Some(target) = steps.iter().rposition(|step| step.nullable) else {
        *data = Value::Null;
        return;
    };
    let mut value = data;
    for (index, segment) in path.iter().enumerate().take(target + 1) {
        let is_target = index == target;
        value = match (segment, value) {
            (PathSegment::Field(key), Value::Object(object)) => {
                let key = Name::new(key);
                if is_target {
                    match object.get_mut(&key) {
                        Some(value) => *value = Value::Null,
                        None => {
                            insert_in_order(object, key, Value::Null, &steps[index].keys_in_order)
                        }
                    }
                    return;
                }
                match object.get_mut(&key) {
                    Some(value) => value,
                    None => return,
                }
            }
            (PathSegment::Index(position), Value::List(items)) => match items.get_mut(*position) {
                Some(value) if is_target => {
                    *value = Value::Null;
                    return;
                }
                Some(value) => value,
                None => return,
            },
            // Already `null`: an error nearer the root took this part of the answer.
            _ => return,
        };
    }
}

/// Inserts a key where the client's selection puts it among the keys present.
fn insert_in_order(
    object: &mut async_graphql::indexmap::IndexMap<Name, Value>,
    key: Name,
    value: Value,
    keys_in_order: &[Name],
) {
    let rank = |name: &Name| keys_in_order.iter().position(|key| key == name);
    let position = match rank(&key) {
        Some(own) => object
            .keys()
            .take_while(|present| rank(present).is_some_and(|theirs| theirs < own))
            .count(),
        None => object.len(),
    };
    object.shift_insert(position, key, value);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use async_graphql::{ServerError, value};

    const SDL: &str = r#"
        type Query { me: User auditLog: Log! list: [Item!] strict: [Item!]! node: Node }
        type User { name: String! friend: User }
        type Log { totalCount: Int! entries: [Entry]! }
        type Entry { text: String! }
        type Item { name: String! note: String }
        interface Node { id: ID! }
        type Task implements Node { id: ID! code: String! }
        schema { query: Query }
    "#;

    fn answer(data: Value, paths: &[&[PathSegment]]) -> Response {
        let mut response = Response::new(data);
        for path in paths {
            let mut error = ServerError::new("refused", None);
            error.path = path.to_vec();
            response.errors.push(error);
        }
        response
    }

    fn field(name: &str) -> PathSegment {
        PathSegment::Field(name.to_owned())
    }

    fn propagated(query: &str, data: Value, paths: &[&[PathSegment]]) -> Value {
        let mut response = answer(data, paths);
        OutputTypes::from_sdl(SDL).propagate_nulls(&mut response, query, None);
        response.data
    }

    #[test]
    fn a_failed_non_null_root_field_nulls_data() {
        let data = propagated(
            "{ me { name } auditLog { totalCount } }",
            value!({ "me": { "name": "a" } }),
            &[&[field("auditLog")]],
        );
        assert_eq!(data, Value::Null);
    }

    #[test]
    fn a_failed_nullable_field_is_null_in_its_place() {
        let data = propagated(
            "{ me { name friend { name } } node { id } }",
            value!({ "me": { "name": "a" }, "node": null }),
            &[&[field("me"), field("friend")]],
        );
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"me":{"name":"a","friend":null},"node":null}"#
        );
    }

    #[test]
    fn a_non_null_field_nulls_its_nearest_nullable_parent() {
        let data = propagated(
            "{ m: me { name } }",
            value!({ "m": null }),
            &[&[field("m"), field("name")]],
        );
        assert_eq!(data, value!({ "m": null }));

        let data = propagated(
            "{ me { friend { n: name } } }",
            value!({ "me": { "friend": null } }),
            &[&[field("me"), field("friend"), field("n")]],
        );
        assert_eq!(data, value!({ "me": { "friend": null } }));
    }

    #[test]
    fn list_items_follow_their_own_nullability() {
        // `[Item!]`: a failed item nulls the list; `[Entry]!`: only the item.
        let data = propagated(
            "{ list { name } }",
            value!({ "list": [{ "name": "a" }, {}] }),
            &[&[field("list"), PathSegment::Index(1), field("name")]],
        );
        assert_eq!(data, value!({ "list": null }));

        let data = propagated(
            "{ auditLog { totalCount entries { text } } }",
            value!({ "auditLog": { "totalCount": 2, "entries": [{ "text": "a" }, null] } }),
            &[&[
                field("auditLog"),
                field("entries"),
                PathSegment::Index(1),
                field("text"),
            ]],
        );
        assert_eq!(
            data,
            value!({ "auditLog": { "totalCount": 2, "entries": [{ "text": "a" }, null] } })
        );

        let data = propagated(
            "{ me { name } strict { name } }",
            value!({ "me": { "name": "a" }, "strict": [{}] }),
            &[&[field("strict"), PathSegment::Index(0), field("name")]],
        );
        assert_eq!(data, Value::Null);
    }

    #[test]
    fn fields_in_fragments_are_typed_by_their_condition() {
        let query = "query { node { id ...T } } fragment T on Task { code }";
        let data = propagated(
            query,
            value!({ "node": { "id": "1" } }),
            &[&[field("node"), field("code")]],
        );
        assert_eq!(data, value!({ "node": null }));
    }

    #[test]
    fn a_key_put_back_goes_where_it_was_asked() {
        let data = propagated(
            "{ me { name } node { id } list { note name } }",
            value!({ "me": { "name": "a" }, "list": [{ "name": "b" }] }),
            &[
                &[field("node")],
                &[field("list"), PathSegment::Index(0), field("note")],
            ],
        );
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"me":{"name":"a"},"node":null,"list":[{"note":null,"name":"b"}]}"#
        );
    }

    #[test]
    fn errors_without_a_path_are_left_alone() {
        let mut response = answer(Value::Null, &[]);
        response.errors.push(ServerError::new("syntax", None));
        OutputTypes::from_sdl(SDL).propagate_nulls(&mut response, "{ me { name } }", None);
        assert_eq!(response.data, Value::Null);
    }
}
