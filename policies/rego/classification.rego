# Data classification (gate 3): fields marked restricted (e.g. a credential's secret) need a
# token whose `amr` shows multi-factor authentication; other fields need nothing more.
package gatehouse.classification

import rego.v1

mfa_methods := {"mfa", "otp", "hwk", "swk", "sms", "fido"}

reasons contains "restricted data needs multi-factor authentication" if {
	input.resource.classification == "restricted"
	count({m | some m in input.principal.amr; mfa_methods[m]}) == 0
}

levels := {"public", "internal", "confidential", "restricted"}

# A missing or unknown classification is a denial (deny by default).
known_classification if levels[input.resource.classification]

reasons contains "unknown classification" if {
	not known_classification
}

decision := {"allow": count(reasons) == 0, "reasons": sort(reasons)}
