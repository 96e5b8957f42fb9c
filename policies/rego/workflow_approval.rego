# Approving or rejecting a workflow (gate 3). SpiceDB (gate 2) already decided that the
# caller may take part in approvals at all; this policy decides whether this approval,
# in this context, should happen.
package gatehouse.workflow.approval

import rego.v1

# The approval limit above which a VP must approve: per tenant from policy data
# (data.tenants[<id>].approval_limit), else the default.
default_limit := 10000

limit := data.tenants[input.principal.tenantId].approval_limit if {
	is_number(data.tenants[input.principal.tenantId].approval_limit)
} else := default_limit

reasons contains "only PENDING_APPROVAL workflows can be approved or rejected" if {
	input.resource.status != "PENDING_APPROVAL"
}

reasons contains sprintf("an amount above %v needs a VP", [limit]) if {
	input.action == "approve"
	to_number(input.resource.amount) > limit
	not "VP" in input.principal.roles
}

reasons contains "nobody approves or rejects their own workflow (separation of duties)" if {
	input.resource.ownerId == input.principal.userId
}

# Networks from which approvals are accepted: per tenant from policy data; no list, no limit.
networks := data.tenants[input.principal.tenantId].approval_networks

reasons contains "approvals are not accepted from this network" if {
	count(networks) > 0
	not from_allowed_network
}

from_allowed_network if {
	some cidr in networks
	net.cidr_contains(cidr, input.context.ip)
}

reasons contains "the input is incomplete" if {
	not input.principal.userId
}

reasons contains "the input is incomplete" if {
	not input.resource.status
}

decision := {"allow": count(reasons) == 0, "reasons": sort(reasons)}
