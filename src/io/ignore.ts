/**
 * The error listener a socket carries between owners (accepted but not yet spliced,
 * connected but not yet handed over), so an error then cannot crash the process. It
 * is one shared function, so the next owner can take it off again.
 */
export const ignoreErrors = (): void => undefined;
