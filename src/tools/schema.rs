//! Turns a schemars schema into one OpenAI strict mode accepts: every object closed
//! (`additionalProperties: false`) with every property required, no `$ref`, `$schema`, `oneOf`
//! or `format`, and no root title or description (the description travels beside the schema).

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The strict-mode schema of `T`'s arguments.
pub fn strict_schema<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .for_deserialize()
        .into_generator()
        .root_schema_for::<T>();
    let mut value = schema.to_value();
    strictify(&mut value);
    if let Value::Object(root) = &mut value {
        root.remove("title");
        root.remove("description");
    }
    value
}

/// Applies the strict-mode rules to every node of a schema.
pub fn strictify(node: &mut Value) {
    match node {
        Value::Object(map) => {
            map.remove("$schema");
            map.remove("format");
            if let Some(one_of) = map.remove("oneOf") {
                let mut any_of = match map.remove("anyOf") {
                    Some(Value::Array(existing)) => existing,
                    _ => Vec::new(),
                };
                if let Value::Array(items) = one_of {
                    any_of.extend(items);
                }
                map.insert("anyOf".into(), Value::Array(any_of));
            }
            let is_object =
                map.get("type").is_some_and(|t| t == "object") || map.contains_key("properties");
            if is_object {
                close_object(map);
            }
            for child in map.values_mut() {
                strictify(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strictify),
        _ => {}
    }
}

fn close_object(map: &mut Map<String, Value>) {
    let properties = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let names: Vec<Value> = match properties {
        Value::Object(props) => props.keys().cloned().map(Value::String).collect(),
        _ => Vec::new(),
    };
    map.insert("required".into(), Value::Array(names));
    map.insert("additionalProperties".into(), Value::Bool(false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    enum Mode {
        Email,
        Link,
    }

    /// Nested arguments, to exercise every rule.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Nested {
        name: String,
        reason: Option<String>,
        count: u32,
        mode: Mode,
        inner: Inner,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Inner {
        email: Option<String>,
    }

    fn every_object_is_closed(node: &Value) {
        if let Value::Object(map) = node {
            assert!(
                !map.contains_key("$ref") && !map.contains_key("oneOf"),
                "{node}"
            );
            assert!(!map.contains_key("format"), "{node}");
            if let Some(Value::Object(props)) = map.get("properties") {
                assert_eq!(map["additionalProperties"], false);
                let required: Vec<&str> = map["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let keys: Vec<&str> = props.keys().map(String::as_str).collect();
                assert_eq!(required, keys);
            }
            map.values().for_each(every_object_is_closed);
        } else if let Value::Array(items) = node {
            items.iter().for_each(every_object_is_closed);
        }
    }

    #[test]
    fn nested_schema_is_strict() {
        let schema = strict_schema::<Nested>();
        every_object_is_closed(&schema);
        assert!(schema.get("title").is_none());
        assert!(!schema.to_string().contains("$defs"));
        assert_eq!(
            schema["properties"]["reason"]["type"],
            serde_json::json!(["string", "null"])
        );
    }
}
