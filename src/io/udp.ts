import type dgram from 'node:dgram';
import type { UdpIo } from '../streams/ports.js';
import { udpListen$, udpReply } from './udp-listen.js';
import { type UdpUpstream, udpForward, udpUpstream$ } from './udp-upstream.js';

/** The real-socket edges of the UDP graph. */
export const udpIo: UdpIo<dgram.Socket, UdpUpstream> = {
  listen$: udpListen$,
  reply: udpReply,
  upstream$: udpUpstream$,
  forward: udpForward,
};
