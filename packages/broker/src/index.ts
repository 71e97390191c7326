export { startBroker, MQTT_WS_PATH, type BrokerOptions, type RunningBroker } from './broker.js';
export { mayPublish, maySubscribe } from './auth/acl.js';
