import type net from 'node:net';
import type { ConnectionIo, ListenIo } from '../streams/ports.js';
import { tcpConnect$ } from './tcp-connect.js';
import { tcpClientGone$, tcpLocalAddress, tcpPreread$, tcpRefuse, tcpRelease } from './tcp-client.js';
import { tcpListen$ } from './tcp-listen.js';
import { tcpSplice$, tcpTransferred } from './tcp-splice.js';

/** The real-socket edges of the TCP graph. */
export const tcpIo: ConnectionIo<net.Socket, net.Socket> & ListenIo<net.Socket> = {
  listen$: tcpListen$,
  clientGone$: tcpClientGone$,
  connect$: tcpConnect$,
  splice$: tcpSplice$,
  transferred: tcpTransferred,
  preread$: tcpPreread$,
  localAddress: tcpLocalAddress,
  refuse: tcpRefuse,
  release: tcpRelease,
};
