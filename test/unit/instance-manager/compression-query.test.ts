import { expect } from 'chai';
import { compressionFromQuery } from '../../../runtime/instance-manager/compression-query.js';
import { compressOnFromEnv } from '../../../runtime/contracts/worker-env.js';

const parse = (query: string) => compressionFromQuery(new URLSearchParams(query));

describe('instance manager compression query (decision 0014)', () => {
  it('no parameter means none, as an older worker expects', () => {
    expect(parse('')).to.deep.equal({ options: { algorithm: 'none' } });
  });

  it('takes zstd and gzip with and without a level', () => {
    expect(parse('compression=zstd')).to.deep.equal({ options: { algorithm: 'zstd' } });
    expect(parse('compression=zstd&level=19')).to.deep.equal({ options: { algorithm: 'zstd', level: 19 } });
    expect(parse('compression=gzip&level=1')).to.deep.equal({ options: { algorithm: 'gzip', level: 1 } });
  });

  it('names the parameter and the accepted values for bad input', () => {
    expect(parse('compression=brotli')).to.deep.equal({ error: 'compression must be none, gzip or zstd (got "brotli")' });
    expect(parse('compression=zstd&level=20')).to.deep.equal({ error: 'level must be an integer from 1 to 19 for zstd (got "20")' });
    expect(parse('compression=gzip&level=0')).to.deep.equal({ error: 'level must be an integer from 1 to 9 for gzip (got "0")' });
    expect(parse('compression=zstd&level=1e1'))
      .to.have.property('error')
      .that.matches(/^level must be an integer/);
  });
});

describe('SILO_COMPRESS_ON', () => {
  it('defaults to the instance manager and accepts worker', () => {
    expect(compressOnFromEnv({})).to.equal('instance');
    expect(compressOnFromEnv({ SILO_COMPRESS_ON: 'worker' })).to.equal('worker');
  });

  it('rejects anything else, naming the variable', () => {
    expect(() => compressOnFromEnv({ SILO_COMPRESS_ON: 'database' })).to.throw(
      'SILO_COMPRESS_ON must be instance or worker (got "database")',
    );
  });
});
