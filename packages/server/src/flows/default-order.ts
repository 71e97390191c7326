/** The order flow used when a stack has no flows/order.yaml (same as the commerce template's). */
export const defaultOrderFlowYaml = `flow: order
initial: pending_payment
states:
  pending_payment: { timeout: { after: 30m, raise: payment_timeout } }
  paid: {}
  allocated: {}
  picking: {}
  packed: {}
  shipped: {}
  delivered: {}
  completed: { final: true }
  cancelled: { final: true }
transitions:
  - { event: pay, from: pending_payment, to: paid, roles: [service, admin], actions: [record_payment] }
  - { event: allocate, from: paid, to: allocated, roles: [service, admin] }
  - { event: start_picking, from: allocated, to: picking, roles: [service, admin] }
  - { event: pack, from: picking, to: packed, roles: [service, admin] }
  - { event: ship, from: packed, to: shipped, roles: [service, admin], actions: [ship_stock] }
  - { event: deliver, from: shipped, to: delivered, roles: [service, admin, rider] }
  - { event: complete, from: delivered, to: completed, roles: [service, admin, user] }
  - { event: cancel, from: [pending_payment, paid, allocated], to: cancelled, roles: [service, admin, user], actions: [release_stock] }
`;
