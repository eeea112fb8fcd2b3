// The suites that exercise the TypeScript Stryker mutates (stryker.config.json), without the
// browser, benchmark-peer and fixture suites that only cost time per mutant.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/training.test.ts',
      'test/safetensors.test.ts',
      'test/lab.test.ts',
      'test/trainer.test.ts',
      'test/model.test.ts',
      'test/schedules.test.ts',
      'test/diagnostics.test.ts',
      'test/limits.test.ts',
      'test/adversarial.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
