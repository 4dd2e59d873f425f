import { expect } from 'chai';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import { expectedBytesFromEnv } from '../../../runtime/contracts/worker-env.js';

describe('contracts/worker-env', () => {
  describe('expectedBytesFromEnv (SILO_EXPECTED_BYTES)', () => {
    it('is undefined when unset or empty', () => {
      expect(expectedBytesFromEnv({})).to.equal(undefined);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: ' ' })).to.equal(undefined);
    });

    it('reads bytes and Kubernetes quantities, binary and decimal', () => {
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '123456789' })).to.equal(123456789);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '200Gi' })).to.equal(200 * 2 ** 30);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '1.5Ti' })).to.equal(1.5 * 2 ** 40);
      expect(expectedBytesFromEnv({ SILO_EXPECTED_BYTES: '500G' })).to.equal(500e9);
    });

    for (const bad of ['200GB', '-5', '0', 'lots', '1e9', '10 Gi']) {
      it(`refuses ${JSON.stringify(bad)} with a ConfigError naming the variable`, () => {
        expect(() => expectedBytesFromEnv({ SILO_EXPECTED_BYTES: bad })).to.throw(ConfigError, /^SILO_EXPECTED_BYTES must be a positive size in bytes or a quantity such as 500Gi/);
      });
    }
  });
});
