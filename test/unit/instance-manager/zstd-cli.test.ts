import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { findZstdCli, parseZstdSummary, zstdCompressArgs } from '../../../runtime/instance-manager/zstd-cli.js';

describe('instance-manager/zstd-cli', () => {
  describe('parseZstdSummary', () => {
    it('reads the exact byte counts of the final summary, after the progress lines', () => {
      const stderr =
        'Using stdout for output \nRead : 12 MiB ==> 40%\r/*stdin*\\            : 40.50%   (1425513555 B => 577281820 B, /*stdout*\\) \n/*stdin*\\            : Completed in 7.02 sec  (cpu load : 160%)\n';
      expect(parseZstdSummary(stderr)).to.deep.equal({ inputBytes: 1425513555, outputBytes: 577281820 });
    });

    it('reads padded small counts and an empty input', () => {
      expect(parseZstdSummary('/*stdin*\\ :113.00%   (   100 B =>    113 B, /*stdout*\\) ')).to.deep.equal({
        inputBytes: 100,
        outputBytes: 113,
      });
      expect(parseZstdSummary('/*stdin*\\ :  (     0 B =>     13 B, /*stdout*\\) ')).to.deep.equal({ inputBytes: 0, outputBytes: 13 });
    });

    it('gives undefined for a summary in human units (a zstd that was not asked for -vv) or none at all', () => {
      expect(parseZstdSummary('/*stdin*\\ :100.00%   (   118 MiB =>    118 MiB, /*stdout*\\) ')).to.equal(undefined);
      expect(parseZstdSummary('')).to.equal(undefined);
    });
  });

  it('compresses with a frame checksum, verbose enough for exact counts', () => {
    expect(zstdCompressArgs(3, 2)).to.deep.equal(['-3', '-T2', '--check', '-vv', '-c']);
  });

  describe('findZstdCli', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'silo-zstd-cli-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('finds the installed zstd, whose summary it can read', async () => {
      expect(await findZstdCli()).to.equal('zstd');
    });

    it('refuses a command that is missing', async () => {
      expect(await findZstdCli(join(dir, 'no-such-zstd'))).to.equal(undefined);
    });

    it('refuses a zstd whose summary does not match what it wrote', async () => {
      const liar = join(dir, 'zstd-liar');
      writeFileSync(liar, '#!/bin/sh\ncat > /dev/null\nprintf "compressed"\necho "/*stdin*\\\\ : (5 B => 99 B, /*stdout*\\\\)" >&2\n');
      chmodSync(liar, 0o755);
      expect(await findZstdCli(liar)).to.equal(undefined);
      // The same script, telling the truth about its 10 bytes, passes: the comparison is what refused it.
      writeFileSync(liar, '#!/bin/sh\ncat > /dev/null\nprintf "compressed"\necho "/*stdin*\\\\ : (5 B => 10 B, /*stdout*\\\\)" >&2\n');
      expect(await findZstdCli(liar)).to.equal(liar);
    });
  });
});
