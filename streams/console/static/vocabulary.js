// The contract's words the console offers as choices (schemas/alerts.py, schemas/lifecycle.py;
// a browser test holds these lists to the Python ones).

export const TYPOLOGIES = [
  "transit_loss", "route_deviation", "unscheduled_stop", "overdue_shipment", "incident_nearby",
  "sanctioned_party", "over_distribution", "duplicate_collection", "non_receipt_feedback",
];

export const SEVERITIES = ["low", "medium", "high", "critical"];

export const STATUSES = ["open", "acknowledged", "confirmed", "dismissed", "resolved"];

// the lifecycle: which status an alert may go to from each
export const TRANSITIONS = {
  open: ["acknowledged", "confirmed", "dismissed", "resolved"],
  acknowledged: ["confirmed", "dismissed", "resolved"],
  confirmed: ["dismissed", "resolved"],
  dismissed: ["acknowledged", "confirmed"],
  resolved: ["acknowledged"],
};

// a change to these needs a note: the audit record says why
export const NOTE_REQUIRED = ["confirmed", "dismissed"];

// the button that makes each change
export const ACTIONS = {
  acknowledged: "Acknowledge",
  confirmed: "Confirm",
  dismissed: "Dismiss",
  resolved: "Resolve",
};
