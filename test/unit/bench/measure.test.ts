import { expect } from 'chai';
import { median, ratioInterval, targetVerdict } from '../../../bench/measure.js';

describe('bench/measure.ts', () => {
  it('ratioInterval keeps a round’s two sides together: rounds that all share one ratio give that ratio at both ends', () => {
    const silo = [4.1, 3.7, 5.2, 3.9, 4.4, 4.8, 3.6];
    const baseline = silo.map((s) => s * 0.9);
    const [low, high] = ratioInterval(baseline, silo, 500);
    expect(low).to.be.closeTo(0.9, 1e-9);
    expect(high).to.be.closeTo(0.9, 1e-9);
  });

  it('ratioInterval brackets the ratio of medians of rounds that spread', () => {
    const silo = [4.0, 4.2, 3.8, 4.6, 4.1, 3.9, 4.4, 4.3, 4.0];
    const baseline = [3.5, 4.1, 3.6, 3.9, 4.0, 3.4, 4.2, 3.7, 3.8];
    const ratio = median(baseline) / median(silo);
    const [low, high] = ratioInterval(baseline, silo, 2000);
    expect(low).to.be.below(ratio);
    expect(high).to.be.above(ratio);
  });

  it('targetVerdict says met or not met, and whether the interval is clear of the target', () => {
    expect(targetVerdict(0.93, [0.91, 0.96], 0.9)).to.equal(
      'met (0.930, interval 0.910–0.960): the ratio and its whole interval are at or above 0.9',
    );
    expect(targetVerdict(0.92, [0.86, 0.98], 0.9)).to.match(
      /^met \(0\.920, .*\) by the ratio, but the interval reaches below 0.9: more rounds/,
    );
    expect(targetVerdict(0.88, [0.85, 0.91], 0.9)).to.match(
      /^not met \(0\.880, .*\) by the ratio, but the interval reaches above 0.9: more rounds/,
    );
    expect(targetVerdict(0.8, [0.75, 0.86], 0.9)).to.match(/^not met \(0\.800, .*\): the ratio and its whole interval are below 0.9$/);
    // A table rounds 0.896 to 0.90; the verdict shows why it misses.
    expect(targetVerdict(0.896, [0.853, 0.935], 0.9)).to.match(/^not met \(0\.896, interval 0\.853–0\.935\) by the ratio/);
    // The target itself counts as met: "≥ 0.9".
    expect(targetVerdict(0.9, [0.9, 0.95], 0.9)).to.match(/^met \(0\.900, .*\): /);
  });
});
