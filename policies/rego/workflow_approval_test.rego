package gatehouse.workflow.approval_test

import rego.v1

import data.gatehouse.workflow.approval

base := {
	"principal": {"userId": "carol", "tenantId": "acme", "roles": ["VP", "MEMBER"]},
	"action": "approve",
	"resource": {"status": "PENDING_APPROVAL", "amount": "25000.00", "ownerId": "alice"},
	"context": {"ip": "203.0.113.7"},
}

test_vp_approves_above_the_limit if {
	approval.decision == {"allow": true, "reasons": []} with input as base
}

test_non_vp_cannot_approve_above_the_limit if {
	d := approval.decision with input as object.union(base, {"principal": {"userId": "alice2", "tenantId": "acme", "roles": ["ADMIN"]}})
	d.allow == false
	d.reasons == ["an amount above 10000 needs a VP"]
}

test_non_vp_approves_up_to_the_limit if {
	d := approval.decision with input as object.union(base, {
		"principal": {"userId": "bob", "tenantId": "acme", "roles": ["ADMIN"]},
		"resource": {"status": "PENDING_APPROVAL", "amount": "10000.00", "ownerId": "alice"},
	})
	d.allow == true
}

test_non_vp_may_reject_above_the_limit if {
	d := approval.decision with input as object.union(base, {
		"action": "reject",
		"principal": {"userId": "bob", "tenantId": "acme", "roles": ["ADMIN"]},
	})
	d.allow == true
}

test_nobody_approves_their_own if {
	d := approval.decision with input as object.union(base, {"resource": {"status": "PENDING_APPROVAL", "amount": "5.00", "ownerId": "carol"}})
	d.reasons == ["nobody approves or rejects their own workflow (separation of duties)"]
}

test_only_pending if {
	d := approval.decision with input as object.union(base, {"resource": {"status": "DRAFT", "amount": "5.00", "ownerId": "alice"}})
	d.reasons == ["only PENDING_APPROVAL workflows can be approved or rejected"]
}

test_tenant_limit_from_data if {
	d := approval.decision with input as object.union(base, {"principal": {"userId": "bob", "tenantId": "acme", "roles": ["ADMIN"]}})
		with data.tenants as {"acme": {"approval_limit": 50000}}
	d.allow == true
}

test_networks_from_data if {
	inside := approval.decision with input as base with data.tenants as {"acme": {"approval_networks": ["203.0.113.0/24"]}}
	inside.allow == true
	outside := approval.decision with input as object.union(base, {"context": {"ip": "192.0.2.9"}})
		with data.tenants as {"acme": {"approval_networks": ["203.0.113.0/24"]}}
	outside.reasons == ["approvals are not accepted from this network"]
}

test_incomplete_input_denies if {
	d := approval.decision with input as {"action": "approve"}
	d.allow == false
	"the input is incomplete" in d.reasons
}

test_reasons_accumulate if {
	d := approval.decision with input as object.union(base, {
		"principal": {"userId": "alice", "tenantId": "acme", "roles": ["ADMIN"]},
		"resource": {"status": "APPROVED", "amount": "25000.00", "ownerId": "alice"},
	})
	count(d.reasons) == 3
}
