// The suites that exercise the TypeScript Stryker mutates (stryker.config.json), without the
// browser, benchmark-peer and fixture suites that only cost time per mutant.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/model/training.test.ts',
      'test/model/safetensors.test.ts',
      'test/lab/lab.test.ts',
      'test/trainer/trainer.test.ts',
      'test/model/model.test.ts',
      'test/model/schedules.test.ts',
      'test/model/diagnostics.test.ts',
      'test/model/limits.test.ts',
      'test/model/adversarial.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
