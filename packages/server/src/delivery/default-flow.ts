/**
 * The delivery flow used when a stack has no flows/delivery.yaml (same as the delivery template's).
 * Geofences fire arrive_pickup, depart_pickup and arrive_customer as the system (role service); the rider
 * fires start, pick_up, deliver (with proof) and the failure events; failures raise exception-center entries.
 */
export const defaultDeliveryFlowYaml = `flow: delivery
initial: assigned
states:
  assigned: {}
  heading_to_pickup: {}
  at_pickup: { timeout: { after: 30m, raise: delivery_pickup_wait } }
  picked_up: {}
  heading_to_customer: {}
  at_customer: { timeout: { after: 20m, raise: delivery_customer_wait } }
  delivered: { final: true }
  failed: { final: true }
  cancelled: { final: true }
transitions:
  - { event: start, from: assigned, to: heading_to_pickup, roles: [rider, service, admin] }
  - { event: arrive_pickup, from: [assigned, heading_to_pickup], to: at_pickup, roles: [rider, service, admin] }
  - { event: pick_up, from: at_pickup, to: picked_up, roles: [rider, service, admin] }
  - { event: depart_pickup, from: picked_up, to: heading_to_customer, roles: [rider, service, admin] }
  - { event: arrive_customer, from: [picked_up, heading_to_customer], to: at_customer, roles: [rider, service, admin] }
  - { event: deliver, from: at_customer, to: delivered, roles: [rider, service, admin] }
  - { event: customer_absent, from: at_customer, to: failed, roles: [rider, service, admin] }
  - { event: address_wrong, from: [heading_to_customer, at_customer], to: failed, roles: [rider, service, admin] }
  - { event: cancel, from: [assigned, heading_to_pickup, at_pickup], to: cancelled, roles: [service, admin] }
`;
