package gatehouse.classification_test

import rego.v1

import data.gatehouse.classification

test_restricted_needs_mfa if {
	d := classification.decision with input as {"principal": {"amr": ["pwd"]}, "resource": {"classification": "restricted"}}
	d == {"allow": false, "reasons": ["restricted data needs multi-factor authentication"]}
}

test_restricted_with_mfa if {
	classification.decision.allow with input as {"principal": {"amr": ["pwd", "otp"]}, "resource": {"classification": "restricted"}}
}

test_internal_needs_nothing if {
	classification.decision.allow with input as {"principal": {"amr": []}, "resource": {"classification": "internal"}}
}

test_unknown_classification_denies if {
	d := classification.decision with input as {"principal": {"amr": ["mfa"]}, "resource": {"classification": "secret-ish"}}
	d.reasons == ["unknown classification"]
}

test_missing_classification_denies if {
	d := classification.decision with input as {"principal": {"amr": ["mfa"]}}
	d == {"allow": false, "reasons": ["unknown classification"]}
}

test_no_input_denies if {
	not classification.decision.allow with input as {}
}
