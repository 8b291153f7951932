package dev.sandboxssh.gateway.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.sandboxssh.gateway.store.StoreException.Reason;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The ownership table on SQLite (the embedded default: one file shared by a running gateway and
 * admin commands in other processes) or PostgreSQL (several gateways), through one schema that
 * Flyway migrates on open ({@code db/migration}) and connections pooled by HikariCP.
 *
 * <p>Nothing is cached here: every read asks the database, so a change made by another process is
 * seen at the next call ({@link CachingOwnershipStore} adds a short cache in front). Every write is
 * one transaction that checks and writes while holding off other writers, so checks cannot race and
 * nothing is half-written. The differences between the two databases are named in {@link Dialect}.
 */
public final class JdbcOwnershipStore implements OwnershipStore {

  private static final Logger log = LoggerFactory.getLogger(JdbcOwnershipStore.class);

  /** How long a write waits for another process's write to finish before it fails. */
  private static final int BUSY_TIMEOUT_MS = 10_000;

  /** What differs between the databases the store runs on. */
  enum Dialect {
    /**
     * SQLite: WAL lets readers go on while an admin command writes; {@code BEGIN IMMEDIATE} takes
     * the write lock at once (a deferred transaction that reads and then writes fails with
     * SQLITE_BUSY when another process wrote meanwhile); rows keep insertion order in rowid.
     */
    SQLITE(4, "rowid"),
    /**
     * PostgreSQL: writers take one table lock, so that the checks across tables (an owner name is
     * never a sandbox id) cannot race between gateways; insertion order is approximated by ctid.
     */
    POSTGRESQL(8, "ctid");

    final int poolSize;
    final String rowOrder;

    Dialect(int poolSize, String rowOrder) {
      this.poolSize = poolSize;
      this.rowOrder = rowOrder;
    }

    static Dialect of(String jdbcUrl) {
      if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:sqlite:")) {
        return SQLITE;
      }
      if (jdbcUrl != null && jdbcUrl.startsWith("jdbc:postgresql:")) {
        return POSTGRESQL;
      }
      throw new StoreException(
          Reason.INVALID, "not a jdbc:sqlite: or jdbc:postgresql: URL: " + jdbcUrl);
    }
  }

  private final HikariDataSource dataSource;
  private final Dialect dialect;
  private final String description;
  private final AtomicInteger migratedFrom = new AtomicInteger(-1);

  private JdbcOwnershipStore(HikariDataSource dataSource, Dialect dialect, String description) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.description = description;
  }

  /**
   * Opens (creating when missing, mode 0600) the SQLite database file and migrates its schema. The
   * parent directory must exist.
   *
   * @throws StoreException IO when it cannot be opened or was written by a newer gateway
   */
  public static JdbcOwnershipStore open(Path dbFile) {
    return open("jdbc:sqlite:" + dbFile.toAbsolutePath(), null);
  }

  /**
   * Opens a {@code jdbc:sqlite:PATH} or {@code jdbc:postgresql://HOST:PORT/DB?user=...} URL and
   * migrates its schema; {@code password} (null for none) is PostgreSQL's.
   *
   * @throws StoreException INVALID for any other URL (SQLite in-memory databases included: each
   *     pooled connection would see its own), IO when it cannot be opened
   */
  public static JdbcOwnershipStore open(String jdbcUrl, String password) {
    Dialect dialect = Dialect.of(jdbcUrl);
    HikariConfig pool = new HikariConfig();
    pool.setPoolName("ownership-store");
    pool.setMaximumPoolSize(dialect.poolSize);
    pool.setMinimumIdle(1);
    pool.setConnectionTimeout(BUSY_TIMEOUT_MS);
    String description;
    if (dialect == Dialect.SQLITE) {
      String path = jdbcUrl.substring("jdbc:sqlite:".length());
      if (path.isEmpty() || path.contains(":memory:") || path.startsWith("file:")) {
        throw new StoreException(Reason.INVALID, "need a plain file path in " + jdbcUrl);
      }
      createPrivate(Path.of(path));
      pool.setJdbcUrl("jdbc:sqlite:" + path);
      // sqlite-jdbc reads these pragmas from the connection properties.
      pool.addDataSourceProperty("foreign_keys", "true");
      pool.addDataSourceProperty("busy_timeout", String.valueOf(BUSY_TIMEOUT_MS));
      description = path;
    } else {
      pool.setJdbcUrl(jdbcUrl);
      if (password != null) {
        pool.setPassword(password);
      }
      // Never the URL itself in messages: it may carry a password.
      description = "PostgreSQL database " + redact(jdbcUrl);
    }
    HikariDataSource dataSource;
    try {
      dataSource = new HikariDataSource(pool);
    } catch (RuntimeException e) {
      throw new StoreException(Reason.IO, "cannot open " + description + ": " + rootMessage(e), e);
    }
    JdbcOwnershipStore store = new JdbcOwnershipStore(dataSource, dialect, description);
    try {
      store.migrate();
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    return store;
  }

  /** The URL without its query (user, password) part. */
  private static String redact(String jdbcUrl) {
    int q = jdbcUrl.indexOf('?');
    return q < 0 ? jdbcUrl : jdbcUrl.substring(0, q);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }

  /** The schema version the database had before this store opened it (0: empty). */
  public int migratedFrom() {
    return migratedFrom.get();
  }

  // ---------------------------------------------------------------- owners

  @Override
  public Owner addOwner(String name, List<OwnerKey> keys, List<OwnerKey> cas) {
    if (!Names.isOwnerName(name)) {
      throw new StoreException(
          Reason.INVALID,
          "bad owner name '" + name + "': use 1-32 of a-z 0-9 _ . - (starting with a letter or _)");
    }
    if ((keys == null || keys.isEmpty()) && (cas == null || cas.isEmpty())) {
      throw new StoreException(
          Reason.INVALID, "owner " + name + " needs at least one key or certificate authority");
    }
    Map<String, OwnerKey> unique = checked(name, keys);
    Map<String, OwnerKey> uniqueCas = checked(name, cas);
    Instant created = now();
    return inTransaction(
        c -> {
          if (exists(c, "SELECT 1 FROM owners WHERE name = ?", name)) {
            throw new StoreException(Reason.CONFLICT, "owner " + name + " already exists");
          }
          // The SSH user name NAME lists an owner's sandboxes: it must not also be a sandbox's.
          if (exists(c, "SELECT 1 FROM sandboxes WHERE id = ?", name)) {
            throw new StoreException(
                Reason.CONFLICT, "owner " + name + ": a sandbox has that name as its id");
          }
          try (PreparedStatement ins =
              c.prepareStatement("INSERT INTO owners(name, created) VALUES (?, ?)")) {
            ins.setString(1, name);
            ins.setString(2, created.toString());
            ins.executeUpdate();
          }
          try (PreparedStatement ins =
              c.prepareStatement(
                  "INSERT INTO owner_keys(owner, fingerprint, authorized_key) VALUES (?, ?, ?)")) {
            for (OwnerKey k : unique.values()) {
              ins.setString(1, name);
              ins.setString(2, k.fingerprint());
              ins.setString(3, k.authorizedKey());
              ins.addBatch();
            }
            ins.executeBatch();
          }
          try (PreparedStatement ins =
              c.prepareStatement(
                  "INSERT INTO owner_cas(owner, fingerprint, public_key) VALUES (?, ?, ?)")) {
            for (OwnerKey k : uniqueCas.values()) {
              ins.setString(1, name);
              ins.setString(2, k.fingerprint());
              ins.setString(3, k.authorizedKey());
              ins.addBatch();
            }
            ins.executeBatch();
          }
          return new Owner(
              name, List.copyOf(unique.values()), List.copyOf(uniqueCas.values()), created);
        });
  }

  /** The keys by fingerprint, each checked to be a key whose fingerprint the row holds. */
  private static Map<String, OwnerKey> checked(String owner, List<OwnerKey> keys) {
    Map<String, OwnerKey> unique = new LinkedHashMap<>();
    for (OwnerKey k : keys != null ? keys : List.<OwnerKey>of()) {
      if (k == null || k.authorizedKey() == null) {
        throw new StoreException(Reason.INVALID, "owner " + owner + ": a key is missing");
      }
      // Keep the table honest: each row's fingerprint is that of its key.
      String actual = PublicKeys.fingerprint(PublicKeys.decode(k.authorizedKey()));
      if (!actual.equals(k.fingerprint())) {
        throw new StoreException(
            Reason.INVALID, "owner " + owner + ": fingerprint does not match key " + actual);
      }
      unique.putIfAbsent(actual, k);
    }
    return unique;
  }

  @Override
  public List<Owner> listOwners() {
    return withConnection(c -> readOwners(c, null));
  }

  @Override
  public Optional<Owner> findOwner(String name) {
    if (!Names.isOwnerName(name)) {
      return Optional.empty();
    }
    return withConnection(c -> readOwners(c, name)).stream().findFirst();
  }

  @Override
  public void removeOwner(String name) {
    inTransaction(
        c -> {
          if (!Names.isOwnerName(name) || !exists(c, "SELECT 1 FROM owners WHERE name = ?", name)) {
            throw new StoreException(Reason.NOT_FOUND, "no owner named " + name);
          }
          // Explicit rather than relying on ON DELETE CASCADE alone, which needs the
          // foreign_keys pragma on the connection that deletes.
          for (String sql :
              List.of(
                  "DELETE FROM sandboxes WHERE owner = ?",
                  "DELETE FROM owner_keys WHERE owner = ?",
                  "DELETE FROM owner_cas WHERE owner = ?",
                  "DELETE FROM owners WHERE name = ?")) {
            try (PreparedStatement del = c.prepareStatement(sql)) {
              del.setString(1, name);
              del.executeUpdate();
            }
          }
          return null;
        });
  }

  // ---------------------------------------------------------------- sandboxes

  @Override
  public SandboxRecord createSandbox(SandboxRecord sandbox) {
    SandboxRecord row = validate(sandbox);
    boolean generated = sandbox.id() == null;
    // A generated id that happens to exist is drawn again; a chosen one is a conflict.
    for (int attempt = 0; ; attempt++) {
      SandboxRecord candidate =
          generated
              ? new SandboxRecord(
                  Names.newSandboxId(),
                  row.owner(),
                  row.provider(),
                  row.endpoint(),
                  row.token(),
                  row.state(),
                  row.created())
              : row;
      try {
        return inTransaction(c -> insertSandbox(c, candidate));
      } catch (StoreException e) {
        if (!generated || e.reason() != Reason.CONFLICT || attempt >= 5) {
          throw e;
        }
      }
    }
  }

  private static SandboxRecord validate(SandboxRecord s) {
    if (s == null) {
      throw new StoreException(Reason.INVALID, "no sandbox given");
    }
    if (s.id() != null && !Names.isSandboxId(s.id())) {
      throw new StoreException(
          Reason.INVALID,
          "sandbox id '"
              + s.id()
              + "' is not a DNS label (1-63 of a-z 0-9 -, not starting or ending with -)");
    }
    if (s.owner() == null) {
      throw new StoreException(Reason.INVALID, "a sandbox needs an owner");
    }
    if (s.provider() == null) {
      throw new StoreException(Reason.INVALID, "a sandbox needs a provider");
    }
    if (s.provider() == SandboxRecord.Provider.REMOTE) {
      if (!Names.isEndpoint(s.endpoint())) {
        throw new StoreException(
            Reason.INVALID, "bad endpoint '" + s.endpoint() + "': use HOST:PORT or unix:/PATH");
      }
      if (!Names.isToken(s.token())) {
        // Never echo the token itself.
        throw new StoreException(
            Reason.INVALID, "bad token: need 1-4096 visible ASCII characters, no spaces");
      }
    } else if (s.provider() == SandboxRecord.Provider.E2B) {
      if (!Names.isEnvdUrl(s.endpoint())) {
        throw new StoreException(
            Reason.INVALID,
            "bad envd URL '" + s.endpoint() + "': use http(s)://HOST[:PORT] with nothing after it");
      }
      if (!Names.isToken(s.token())) {
        throw new StoreException(
            Reason.INVALID, "bad token: need 1-4096 visible ASCII characters, no spaces");
      }
    } else if (s.endpoint() != null || s.token() != null) {
      throw new StoreException(
          Reason.INVALID,
          s.provider() == SandboxRecord.Provider.KUBERNETES
              ? "a kubernetes sandbox has no endpoint or token; its pod and Secret hold them"
              : "a local sandbox has no endpoint or token; the gateway starts its agent");
    }
    return new SandboxRecord(
        s.id(),
        s.owner(),
        s.provider(),
        s.endpoint(),
        s.token(),
        s.state() != null ? s.state() : SandboxRecord.State.CREATED,
        s.created() != null ? s.created().truncatedTo(ChronoUnit.MILLIS) : now());
  }

  private static SandboxRecord insertSandbox(Connection c, SandboxRecord s) throws SQLException {
    if (!Names.isOwnerName(s.owner())
        || !exists(c, "SELECT 1 FROM owners WHERE name = ?", s.owner())) {
      throw new StoreException(Reason.NOT_FOUND, "no owner named " + s.owner());
    }
    if (exists(c, "SELECT 1 FROM sandboxes WHERE id = ?", s.id())) {
      throw new StoreException(Reason.CONFLICT, "sandbox " + s.id() + " already exists");
    }
    if (exists(c, "SELECT 1 FROM owners WHERE name = ?", s.id())) {
      throw new StoreException(
          Reason.CONFLICT,
          "sandbox "
              + s.id()
              + ": an owner has that name (ssh NAME@gateway lists"
              + " that owner's sandboxes)");
    }
    try (PreparedStatement ins =
        c.prepareStatement(
            "INSERT INTO sandboxes(id, owner, provider, endpoint, token, state, created)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?)")) {
      ins.setString(1, s.id());
      ins.setString(2, s.owner());
      ins.setString(3, s.provider().name().toLowerCase(Locale.ROOT));
      ins.setString(4, s.endpoint());
      ins.setString(5, s.token());
      ins.setString(6, s.state().name().toLowerCase(Locale.ROOT));
      ins.setString(7, s.created().toString());
      ins.executeUpdate();
    }
    return s;
  }

  @Override
  public Optional<SandboxRecord> findSandbox(String id) {
    if (!Names.isSandboxId(id)) {
      return Optional.empty();
    }
    return withConnection(c -> readSandboxes(c, id)).stream().findFirst();
  }

  @Override
  public List<SandboxRecord> listSandboxes() {
    return withConnection(c -> readSandboxes(c, null));
  }

  @Override
  public void deleteSandbox(String id) {
    inTransaction(
        c -> {
          int n = 0;
          if (Names.isSandboxId(id)) {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM sandboxes WHERE id = ?")) {
              del.setString(1, id);
              n = del.executeUpdate();
            }
          }
          if (n == 0) {
            throw new StoreException(Reason.NOT_FOUND, "no sandbox " + id);
          }
          return null;
        });
  }

  /** Records a sandbox's state; a sandbox deleted meanwhile is ignored (nothing to record). */
  @Override
  public void updateState(String id, SandboxRecord.State state) {
    if (state == null) {
      throw new StoreException(Reason.INVALID, "no state given");
    }
    inTransaction(
        c -> {
          try (PreparedStatement up =
              c.prepareStatement("UPDATE sandboxes SET state = ? WHERE id = ?")) {
            up.setString(1, state.name().toLowerCase(Locale.ROOT));
            up.setString(2, id);
            up.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public boolean isEmpty() {
    return withConnection(
        c -> {
          try (Statement st = c.createStatement();
              ResultSet rs =
                  st.executeQuery(
                      "SELECT (SELECT COUNT(*) FROM owners) + (SELECT COUNT(*) FROM sandboxes)")) {
            return rs.next() && rs.getLong(1) == 0;
          }
        });
  }

  @Override
  public void close() {
    dataSource.close();
  }

  @Override
  public String toString() {
    return "JdbcOwnershipStore[" + description + "]";
  }

  // ---------------------------------------------------------------- reading rows

  private List<Owner> readOwners(Connection c, String onlyName) throws SQLException {
    String sql =
        "SELECT o.name, o.created, k.fingerprint, k.authorized_key FROM owners o"
            + " LEFT JOIN owner_keys k ON k.owner = o.name"
            + (onlyName != null ? " WHERE o.name = ?" : "")
            + " ORDER BY o.name, k."
            + dialect.rowOrder;
    Map<String, Instant> created = new LinkedHashMap<>();
    Map<String, List<OwnerKey>> keys = new LinkedHashMap<>();
    try (PreparedStatement st = c.prepareStatement(sql)) {
      if (onlyName != null) {
        st.setString(1, onlyName);
      }
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          created.putIfAbsent(name, parseInstant(rs.getString(2)));
          List<OwnerKey> list = keys.computeIfAbsent(name, n -> new ArrayList<>());
          if (rs.getString(3) != null) {
            list.add(new OwnerKey(rs.getString(3), rs.getString(4)));
          }
        }
      }
    }
    Map<String, List<OwnerKey>> cas = new LinkedHashMap<>();
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT owner, fingerprint, public_key FROM owner_cas"
                + (onlyName != null ? " WHERE owner = ?" : "")
                + " ORDER BY owner, "
                + dialect.rowOrder)) {
      if (onlyName != null) {
        st.setString(1, onlyName);
      }
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          cas.computeIfAbsent(rs.getString(1), n -> new ArrayList<>())
              .add(new OwnerKey(rs.getString(2), rs.getString(3)));
        }
      }
    }
    List<Owner> owners = new ArrayList<>();
    created.forEach(
        (name, at) ->
            owners.add(new Owner(name, keys.get(name), cas.getOrDefault(name, List.of()), at)));
    return owners;
  }

  private static List<SandboxRecord> readSandboxes(Connection c, String onlyId)
      throws SQLException {
    String sql =
        "SELECT id, owner, provider, endpoint, token, state, created FROM sandboxes"
            + (onlyId != null ? " WHERE id = ?" : "")
            + " ORDER BY id";
    List<SandboxRecord> out = new ArrayList<>();
    try (PreparedStatement st = c.prepareStatement(sql)) {
      if (onlyId != null) {
        st.setString(1, onlyId);
      }
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          out.add(
              new SandboxRecord(
                  rs.getString(1),
                  rs.getString(2),
                  parseEnum(SandboxRecord.Provider.class, rs.getString(3)),
                  rs.getString(4),
                  rs.getString(5),
                  parseEnum(SandboxRecord.State.class, rs.getString(6)),
                  parseInstant(rs.getString(7))));
        }
      }
    }
    return out;
  }

  private static <E extends Enum<E>> E parseEnum(Class<E> type, String value) {
    try {
      return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
    } catch (RuntimeException e) {
      throw new StoreException(
          Reason.IO, "unknown " + type.getSimpleName().toLowerCase(Locale.ROOT) + " " + value, e);
    }
  }

  private static Instant parseInstant(String value) {
    try {
      return Instant.parse(value);
    } catch (RuntimeException e) {
      throw new StoreException(Reason.IO, "bad timestamp in database: " + value, e);
    }
  }

  private static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MILLIS);
  }

  private static boolean exists(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, arg);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next();
      }
    }
  }

  // ---------------------------------------------------------------- schema

  private void migrate() {
    int legacy = withConnection(JdbcOwnershipStore::handRolledVersion);
    FluentConfiguration flyway =
        Flyway.configure()
            .dataSource(dataSource)
            .locations("classpath:db/migration")
            // A database migrated by a newer gateway is refused, not silently used.
            .ignoreMigrationPatterns(new String[0])
            .loggers("slf4j");
    if (legacy > 0) {
      // Made before Flyway (a schema_version table): take it as at that version.
      flyway.baselineOnMigrate(true).baselineVersion(String.valueOf(legacy));
    }
    Flyway f = flyway.load();
    try {
      MigrationInfo current = f.info().current();
      int from = current == null ? legacy : Integer.parseInt(current.getVersion().getVersion());
      migratedFrom.set(from);
      for (MigrationInfo m : f.info().all()) {
        if (m.getState().isApplied() && !m.getState().isResolved() && m.getVersion() != null) {
          throw new StoreException(
              Reason.IO,
              description
                  + " has schema version "
                  + m.getVersion()
                  + ", newer than this gateway knows; upgrade the gateway");
        }
      }
      MigrateResult result = f.migrate();
      if (from > 0 && result.migrationsExecuted > 0) {
        log.info(
            "{}: schema migrated from version {} to {}",
            description,
            from,
            result.targetSchemaVersion);
      }
    } catch (FlywayException e) {
      throw new StoreException(
          Reason.IO, description + ": schema migration failed: " + e.getMessage(), e);
    }
    if (dialect == Dialect.SQLITE) {
      // Outside any transaction: the journal mode cannot change inside one. It is a property of
      // the file, so later connections (and other processes) use WAL too.
      withConnection(
          c -> {
            try (Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("PRAGMA journal_mode=WAL")) {
              if (!rs.next() || !"wal".equalsIgnoreCase(rs.getString(1))) {
                log.warn("{}: WAL journal mode unavailable; admin commands may wait", description);
              }
            }
            return null;
          });
    }
  }

  /** The version in a pre-Flyway {@code schema_version} table, 0 when there is none. */
  private static int handRolledVersion(Connection c) throws SQLException {
    try (ResultSet tables = c.getMetaData().getTables(null, null, "%", null)) {
      boolean handRolled = false;
      while (tables.next()) {
        String name = tables.getString("TABLE_NAME");
        if ("flyway_schema_history".equalsIgnoreCase(name)) {
          return 0;
        }
        handRolled |= "schema_version".equalsIgnoreCase(name);
      }
      if (!handRolled) {
        return 0;
      }
    }
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM schema_version")) {
      return rs.next() ? rs.getInt(1) : 0;
    }
  }

  // ---------------------------------------------------------------- connections

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T withConnection(SqlWork<T> work) {
    Connection c = borrow();
    boolean healthy = false;
    try {
      T result = work.run(c);
      healthy = true;
      return result;
    } catch (SQLException e) {
      throw translate(e);
    } catch (StoreException e) {
      healthy = true;
      throw e;
    } finally {
      giveBack(c, healthy);
    }
  }

  private <T> T inTransaction(SqlWork<T> work) {
    return withConnection(
        c -> {
          boolean sqlite = dialect == Dialect.SQLITE;
          try (Statement st = c.createStatement()) {
            if (sqlite) {
              // Explicit statements rather than setAutoCommit(false): the driver would open the
              // next transaction right after COMMIT, and a busy failure there would report a
              // write that did happen as failed.
              st.execute("BEGIN IMMEDIATE");
            } else {
              c.setAutoCommit(false);
              // One writer at a time across gateways: checks span tables (owner names are never
              // sandbox ids), which row locks and unique constraints alone do not cover.
              st.execute("LOCK TABLE owners, sandboxes IN SHARE ROW EXCLUSIVE MODE");
            }
            T result;
            try {
              result = work.run(c);
            } catch (SQLException | RuntimeException e) {
              try {
                if (sqlite) {
                  st.execute("ROLLBACK");
                } else {
                  c.rollback();
                }
              } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
              }
              throw e;
            }
            if (sqlite) {
              st.execute("COMMIT");
            } else {
              c.commit();
            }
            return result;
          } finally {
            if (!sqlite) {
              c.setAutoCommit(true);
            }
          }
        });
  }

  private Connection borrow() {
    try {
      return dataSource.getConnection();
    } catch (SQLException | RuntimeException e) {
      throw new StoreException(Reason.IO, "cannot reach " + description + ": " + e.getMessage(), e);
    }
  }

  private void giveBack(Connection c, boolean healthy) {
    if (!healthy) {
      // Hikari tests and replaces it; a broken connection must not be reused as is.
      dataSource.evictConnection(c);
      return;
    }
    closeQuietly(c);
  }

  private StoreException translate(SQLException e) {
    if (e instanceof SQLiteException se) {
      SQLiteErrorCode code = se.getResultCode();
      if (code == SQLiteErrorCode.SQLITE_CONSTRAINT_PRIMARYKEY
          || code == SQLiteErrorCode.SQLITE_CONSTRAINT_UNIQUE) {
        return new StoreException(Reason.CONFLICT, "already exists: " + e.getMessage(), e);
      }
      if (code == SQLiteErrorCode.SQLITE_BUSY || code == SQLiteErrorCode.SQLITE_LOCKED) {
        return new StoreException(
            Reason.IO, description + " stayed locked by another process; try again", e);
      }
    }
    // PostgreSQL: unique violation.
    if ("23505".equals(e.getSQLState())) {
      return new StoreException(Reason.CONFLICT, "already exists: " + e.getMessage(), e);
    }
    return new StoreException(Reason.IO, description + ": " + e.getMessage(), e);
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // Nothing left to do with a connection that failed to close.
    }
  }

  /** Creates the file empty with mode 0600 (the -wal and -shm files copy it): it holds tokens. */
  private static void createPrivate(Path dbFile) {
    try {
      if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
        Files.createFile(
            dbFile,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } else {
        Files.createFile(dbFile);
      }
    } catch (FileAlreadyExistsException e) {
      // An existing database keeps its mode.
    } catch (IOException e) {
      throw new StoreException(Reason.IO, "cannot create " + dbFile + ": " + e.getMessage(), e);
    }
  }
}
