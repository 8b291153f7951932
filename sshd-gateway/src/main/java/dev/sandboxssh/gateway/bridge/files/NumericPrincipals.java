package dev.sandboxssh.gateway.bridge.files;

import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;

/**
 * Owners and groups of sandbox files. The gateway cannot see the sandbox's user database, so a
 * principal carries the number and the name the agent reported; only numbers can be looked up.
 */
final class NumericPrincipals {
  /** A file's owner: its uid, and the name the agent gave for it. */
  record User(long id, String name) implements UserPrincipal {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** A file's group: its gid, and the name the agent gave for it. */
  record Group(long id, String name) implements GroupPrincipal {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** Looks up decimal ids ("1000"); names are not known to the gateway. */
  static final UserPrincipalLookupService LOOKUP =
      new UserPrincipalLookupService() {
        @Override
        public UserPrincipal lookupPrincipalByName(String name)
            throws UserPrincipalNotFoundException {
          return new User(parse(name), name);
        }

        @Override
        public GroupPrincipal lookupPrincipalByGroupName(String group)
            throws UserPrincipalNotFoundException {
          return new Group(parse(group), group);
        }
      };

  private NumericPrincipals() {}

  /** The id of a principal handed in by a caller: ours, or a decimal number. */
  static long idOf(Object principal) throws UserPrincipalNotFoundException {
    if (principal instanceof User u) {
      return u.id();
    }
    if (principal instanceof Group g) {
      return g.id();
    }
    if (principal instanceof Number n) {
      return n.longValue();
    }
    return parse(String.valueOf(principal));
  }

  private static long parse(String name) throws UserPrincipalNotFoundException {
    try {
      long id = Long.parseLong(name);
      if (id < 0 || id > 0xFFFF_FFFEL) {
        throw new UserPrincipalNotFoundException(name);
      }
      return id;
    } catch (NumberFormatException e) {
      throw new UserPrincipalNotFoundException(name);
    }
  }
}
