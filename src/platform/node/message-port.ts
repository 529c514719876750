/** MessagePort connections of an ActorSystem (`servePort`, `{ messagePort, key }` refs): on Node, keyed by the in-band handshake over a PortDuplex. */
export { acceptPortPeer, dialPortPeer } from '../../actors/port-peer.js';
