/**
 * The router's state: one set of names for the state machine, the wire, the daemon's status and its metrics.
 * The wire carries each state as a number (codec.ts maps them); the state machine has one more, internal,
 * final state after a stop (fsm.ts `FsmState`), which is never reported.
 */

/** Every state a router of the pair reports, in the order status and metrics list them. */
export const ROUTER_STATES = ['starting', 'standby', 'active', 'fault', 'stopping'] as const;

/**
 * A router's state: `starting` (listening one deadtime before claiming), `standby`, `active` (holds the
 * VIPs), `fault` (a link or LB fault: never takes over), `stopping` (handing over before it exits).
 */
export type RouterState = (typeof ROUTER_STATES)[number];
