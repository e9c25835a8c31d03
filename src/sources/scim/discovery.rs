//! The discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, describing what this service really does with a User.

use serde_json::{Value, json};

use super::filter::USER_SCHEMA;
use super::mapping::Base;

/// Most resources one list answer carries: Wazzup accounts hold at most 1,000 users.
pub const MAX_RESULTS: usize = 1000;

pub fn service_provider_config(base: &Base) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "Authorization: Bearer <scimToken>, the token stored as \"scimToken\" in the function's secret",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base.url)
        }
    })
}

pub fn user_resource_type(base: &Base) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A Wazzup user: one of the company's employees using Wazzup",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": base.location("ResourceTypes", "User")}
    })
}

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none"
    })
}

fn with(mut attribute: Value, changes: Value) -> Value {
    if let (Some(attribute), Value::Object(changes)) = (attribute.as_object_mut(), changes) {
        attribute.extend(changes);
    }
    attribute
}

/// The core User schema, cut down to what Wazzup keeps or this service reads, with honest
/// mutability: Wazzup stores only an id, a name and a phone.
pub fn user_schema(base: &Base) -> Value {
    let name_part = |name: &str, what: &str| {
        with(
            attribute(
                name,
                "string",
                &format!(
                    "The {what}. Read when name.formatted is absent, to make the Wazzup name \
                     (given name, then family name); Wazzup does not keep it, so it is never returned."
                ),
            ),
            json!({"mutability": "writeOnly", "returned": "never"}),
        )
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A Wazzup user. Wazzup keeps only an id, a name (at most 200 characters) and \
            one phone number; other User attributes are accepted and echoed in the answer to a \
            write, but not stored.",
        "attributes": [
            with(attribute("userName", "string",
                "Sets the Wazzup user id at creation when externalId is absent. Wazzup does not \
                 store it: reads return the id here, and later changes are accepted but not kept."),
                json!({"required": true, "caseExact": true, "mutability": "immutable", "uniqueness": "server"})),
            with(attribute("externalId", "string",
                "The identity provider's key for the user, used as the Wazzup user id at creation; \
                 reads return the id. The id never changes afterwards, so later values are ignored."),
                json!({"caseExact": true, "mutability": "immutable"})),
            with(attribute("name", "complex", "The user's name; Wazzup keeps it whole."),
                json!({"subAttributes": [
                    attribute("formatted", "string",
                        "The full name, stored as the Wazzup user's name (at most 200 characters)."),
                    name_part("givenName", "given name"),
                    name_part("familyName", "family name")
                ]})),
            attribute("displayName", "string",
                "Stored as the Wazzup name when name.formatted, name.givenName and name.familyName \
                 are absent; reads return the Wazzup name."),
            with(attribute("phoneNumbers", "complex",
                "One number is kept: the primary one, else work, else mobile, else one without a \
                 type. It is stored in international form and returned as +digits, type work, primary."),
                json!({"multiValued": true, "subAttributes": [
                    attribute("value", "string", "The number, as people write it or in RFC 3966 form."),
                    with(attribute("type", "string", "work, mobile, home, fax, pager or other."),
                        json!({"canonicalValues": ["work", "mobile", "home", "fax", "pager", "other"]})),
                    attribute("primary", "boolean", "Marks the number to keep.")
                ]})),
            attribute("active", "boolean",
                "false removes the user from Wazzup (Wazzup has no inactive users), so a \
                 deactivated user is no longer found; true on a user that is gone creates it again \
                 when the request carries a name.")
        ],
        "meta": {"resourceType": "Schema", "location": base.location("Schemas", USER_SCHEMA)}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_says_what_wazzup_keeps() {
        let schema = user_schema(&Base {
            url: "/scim/v2".into(),
        });
        let names: Vec<&str> = schema["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "userName",
                "externalId",
                "name",
                "displayName",
                "phoneNumbers",
                "active"
            ]
        );
        let user_name = &schema["attributes"][0];
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["mutability"], "immutable");
        let given = &schema["attributes"][2]["subAttributes"][1];
        assert_eq!(
            (given["mutability"].as_str(), given["returned"].as_str()),
            (Some("writeOnly"), Some("never"))
        );
        assert_eq!(
            schema["meta"]["location"],
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        );
    }
}
