//! API key scope semantics, as a pure function so it can be property-tested.

use crate::records::ScopeLevel;

/// Does a key scoped to (`level`, `target`) cover the resource (`resource_type`,
/// `resource_id`)?
///
/// - `organization` covers everything in the tenant;
/// - `fleet` covers the fleet itself and every endpoint whose `fleet_id` is the target
///   (`fleet_of_endpoint` looks that up in the tenant's state);
/// - `endpoint` covers only that endpoint;
/// - `agent` covers only the agent with that id.
///
/// A non-organization key without a target covers nothing.
pub fn scope_allows(
    level: ScopeLevel,
    target: Option<&str>,
    resource_type: &str,
    resource_id: &str,
    fleet_of_endpoint: impl Fn(&str) -> Option<String>,
) -> bool {
    if level == ScopeLevel::Organization {
        return true;
    }
    let Some(target) = target.filter(|t| !t.is_empty()) else {
        return false;
    };
    match (level, resource_type) {
        (ScopeLevel::Fleet, "fleet") => resource_id == target,
        (ScopeLevel::Fleet, "endpoint") => {
            fleet_of_endpoint(resource_id).is_some_and(|fleet| fleet == target)
        }
        (ScopeLevel::Endpoint, "endpoint") => resource_id == target,
        (ScopeLevel::Agent, "agent") => resource_id == target,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_fleets(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn table() {
        use ScopeLevel::*;
        let fleet_of = |id: &str| (id == "ep-1").then(|| "fleet-a".to_string());
        let cases = [
            (Organization, None, "endpoint", "anything", true),
            (Endpoint, Some("ep-1"), "endpoint", "ep-1", true),
            (Endpoint, Some("ep-1"), "endpoint", "ep-2", false),
            (Endpoint, Some("ep-1"), "agent", "ep-1", false),
            (Fleet, Some("fleet-a"), "endpoint", "ep-1", true),
            (Fleet, Some("fleet-a"), "endpoint", "ep-2", false),
            (Fleet, Some("fleet-a"), "fleet", "fleet-a", true),
            (Agent, Some("ag"), "agent", "ag", true),
            (Agent, Some("ag"), "endpoint", "ag", false),
            (Endpoint, None, "endpoint", "", false),
        ];
        for (level, target, rt, rid, want) in cases {
            assert_eq!(
                scope_allows(level, target, rt, rid, fleet_of),
                want,
                "{level:?} {target:?} {rt} {rid}"
            );
        }
        assert!(!scope_allows(Fleet, Some("f"), "endpoint", "x", no_fleets));
    }
}
