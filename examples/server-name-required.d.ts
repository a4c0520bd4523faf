// Types of server-name-required.js for TypeScript importers (its JSDoc says the same).
import type { DoorStage } from 'rxlb';

/** Refuses TLS clients that name no server (`denied`), unless they come from `trusted`. */
export declare function serverNameRequired(trusted: readonly string[]): DoorStage<unknown>;
