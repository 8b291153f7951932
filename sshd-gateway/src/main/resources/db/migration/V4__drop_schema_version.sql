-- Databases made before Flyway kept their version in this table; Flyway's history replaces it
-- (such a database is baselined at that version when first opened).
DROP TABLE IF EXISTS schema_version;
