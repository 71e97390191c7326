export { startBroker, MQTT_WS_PATH, type BrokerOptions, type RunningBroker } from './broker.js';
export { mayPublish, maySubscribe, maySubscribeAsMember, type MembershipRules } from './auth/acl.js';
export { ImService, imRoutes, type ImSettings } from './im/index.js';
