// Mocha's spec reporter plus one closing line in the plain form CI reads:
// "mocha: N passed, N failed, N skipped". Before it, the files whose tests took longest: a file never
// splits across workers, so these decide how long a run takes (.mocharc.yaml orders the spec list by them).
'use strict';
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants;

const SLOWEST_FILES_SHOWN = 8;
const LAST_FILES_SHOWN = 5;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    // Tests' own durations (hooks excluded: mocha's parallel mode does not report theirs), per file.
    const msByFile = new Map();
    // When each file's results arrived: in parallel mode a worker sends a file's events when the file ends,
    // so the files that end last are the run's critical path.
    const startedAt = Date.now();
    const endedAtByFile = new Map();
    const count = (test) => {
      const file = test.file ?? test.parent?.file;
      if (!file) return;
      msByFile.set(file, (msByFile.get(file) ?? 0) + (test.duration ?? 0));
      endedAtByFile.set(file, Date.now() - startedAt);
    };
    runner.on(EVENT_TEST_PASS, count);
    runner.on(EVENT_TEST_FAIL, count);
    const ended = (file) => `ended +${((endedAtByFile.get(file) ?? 0) / 1000).toFixed(0).padStart(4)} s`;
    runner.once(EVENT_RUN_END, () => {
      const slowest = [...msByFile].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST_FILES_SHOWN);
      if (slowest.length > 1 && slowest[0][1] > 60_000) {
        process.stdout.write('\nslowest files (sum of their tests, hooks excluded):\n');
        for (const [file, ms] of slowest)
          process.stdout.write(`  ${(ms / 1000).toFixed(0).padStart(5)} s  ${ended(file)}  ${path.relative(process.cwd(), file)}\n`);
        // Against the run's wall time: how busy the parallel workers were (what more jobs could win).
        const totalMs = [...msByFile.values()].reduce((a, b) => a + b, 0);
        process.stdout.write(`  ${(totalMs / 1000).toFixed(0).padStart(5)} s  all ${msByFile.size} files together\n`);
        const last = [...endedAtByFile].sort((a, b) => b[1] - a[1]).slice(0, LAST_FILES_SHOWN);
        process.stdout.write('the last files to end:\n');
        for (const [file] of last)
          process.stdout.write(
            `  ${((msByFile.get(file) ?? 0) / 1000).toFixed(0).padStart(5)} s  ${ended(file)}  ${path.relative(process.cwd(), file)}\n`,
          );
      }
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`\nmocha: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}
module.exports = SummaryReporter;
