import { expect } from 'chai';
import { changeMasterSql, sqlIdentifier, sqlString } from '../../../runtime/contracts/mysql-sql.js';

describe('contracts/mysql-sql: literals both sides write', () => {
  it('quotes a string so quotes, backslashes and control characters stay what they are', () => {
    expect(sqlString("it's")).to.equal("'it\\'s'");
    expect(sqlString('a\\b')).to.equal("'a\\\\b'");
    expect(sqlString("x\\'; DROP USER root; --")).to.equal("'x\\\\\\'; DROP USER root; --'");
    expect(sqlString('nul\0nl\ncr\r')).to.equal("'nul\\0nl\\ncr\\r'");
    expect(sqlIdentifier('app`db')).to.equal('`app``db`');
  });

  it('points a replica at its primary by GTID, with or without new credentials', () => {
    expect(changeMasterSql({ host: '127.1.0.4', port: 3306, user: 'silo_replication', password: "p'w" })).to.equal(
      "CHANGE MASTER TO MASTER_HOST='127.1.0.4', MASTER_PORT=3306, MASTER_USER='silo_replication', MASTER_PASSWORD='p\\'w', " +
        'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;',
    );
    expect(changeMasterSql({ host: 'h', port: 3307 })).to.equal(
      "CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=3307, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;",
    );
  });
});
