import { expect } from 'chai';
import { buildInitSql, SYSTEM_USER_GRANTS } from '../../../runtime/instance/init-sql.js';

const passwords = { manager: 'm-pass', replication: 'r-pass', backup: 'b-pass' };

describe("instance db: the init-file's SQL", () => {
  it('starts with sql_log_bin=0, so nothing it does reaches the binary log (no errant GTIDs on a replica)', () => {
    const lines = buildInitSql({ passwords, replication: { gtid: '0-1-9', host: '10.0.0.7', port: 3306 } }).split('\n');
    expect(lines[0]).to.equal('SET sql_log_bin=0;');
    expect(lines[1]).to.equal("SET SESSION sql_mode='';");
  });

  it('creates each system user when missing and sets its password every time, with its grants', () => {
    const sql = buildInitSql({ passwords });
    expect(sql).to.contain("CREATE USER IF NOT EXISTS 'silo_manager'@'localhost' IDENTIFIED BY 'm-pass';");
    expect(sql).to.contain("ALTER USER 'silo_manager'@'localhost' IDENTIFIED BY 'm-pass';");
    expect(sql).to.contain("ALTER USER 'silo_backup'@'localhost' IDENTIFIED BY 'b-pass';");
    expect(sql).to.contain("ALTER USER 'silo_replication'@'%' IDENTIFIED BY 'r-pass';");
    expect(sql).to.contain("GRANT REPLICATION SLAVE ON *.* TO 'silo_replication'@'%';");
    expect(SYSTEM_USER_GRANTS.backup.privileges).to.contain('RELOAD').and.contain('PROCESS').and.contain('BINLOG MONITOR');
    expect(SYSTEM_USER_GRANTS.manager.privileges).to.contain('REPLICATION SLAVE ADMIN').and.contain('REPLICA MONITOR');
    expect(sql).to.not.contain('CHANGE MASTER').and.not.contain('CREATE DATABASE');
  });

  it('quotes passwords safely: a quote or a backslash stays part of the password', () => {
    const sql = buildInitSql({ passwords: { ...passwords, manager: "it's\\x'; DROP USER root; --" } });
    expect(sql).to.contain("ALTER USER 'silo_manager'@'localhost' IDENTIFIED BY 'it\\'s\\\\x\\'; DROP USER root; --';");
    // Every statement still ends where it should: one per line, none split by the password.
    for (const line of sql.trim().split('\n')) expect(line).to.match(/;$/);
  });

  it("creates the app database and user (kept if they exist), quoting the database's name", () => {
    const sql = buildInitSql({ passwords, app: { database: 'shop`x', user: 'app', password: 'p"w' } });
    expect(sql).to.contain('CREATE DATABASE IF NOT EXISTS `shop``x`;');
    expect(sql).to.contain("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'p\\\"w';");
    expect(sql).to.contain("GRANT ALL PRIVILEGES ON `shop``x`.* TO 'app'@'%';");
  });

  it('points an unconfigured replica at its primary from the GTID position of its datadir, then starts it', () => {
    const sql = buildInitSql({
      passwords: { ...passwords, replication: "r'p" },
      replication: { gtid: '0-1-42', host: '10.0.0.7', port: 3306 },
    });
    const tail = sql.trim().split('\n').slice(-3);
    expect(tail).to.deep.equal([
      "SET GLOBAL gtid_slave_pos='0-1-42';",
      "CHANGE MASTER TO MASTER_HOST='10.0.0.7', MASTER_PORT=3306, MASTER_USER='silo_replication', MASTER_PASSWORD='r\\'p', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;",
      'START SLAVE;',
    ]);
    expect(buildInitSql({ passwords, replication: { host: 'h', port: 3306 } })).to.not.contain('gtid_slave_pos');
  });
});
