import fc from 'fast-check';

/**
 * Property tests draw from one fixed seed, so CI checks the same cases on every run
 * and a failure can be replayed. Change the seed to explore other cases locally
 * (RXLB_FC_SEED=123 npx vitest run test/property).
 */
export const FC_SEED = Number(process.env.RXLB_FC_SEED ?? 20_261_122);
fc.configureGlobal({ seed: FC_SEED });
