package dev.sandboxssh.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.session.LoginName.Form;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoginNameTest {
  @ParameterizedTest
  @CsvSource({
    "demo, demo, PLAIN, , 0, false",
    "demo+work, demo, NAMED, work, 0, false",
    "demo+work+ro, demo, NAMED, work, 0, true",
    "demo+build-1, demo, NAMED, build-1, 0, false",
    "demo+ps, demo, PROCESS_TABLE, , 0, false",
    "demo+42, demo, PROCESS, , 42, false",
    "demo+42+ro, demo, PROCESS, , 42, true",
    "alice, alice, PLAIN, , 0, false",
  })
  void parsesEveryForm(
      String user, String base, Form form, String session, int pid, boolean readOnly) {
    LoginName name = LoginName.parse(user);
    assertThat(name.base()).isEqualTo(base);
    assertThat(name.form()).isEqualTo(form);
    assertThat(name.session()).isEqualTo(session);
    assertThat(name.pid()).isEqualTo(pid);
    assertThat(name.readOnly()).isEqualTo(readOnly);
    assertThat(name.problem()).isNull();
  }

  @ParameterizedTest
  @CsvSource({
    "demo+, bad session name",
    "demo+Work, bad session name",
    "demo+-x, bad session name",
    "demo+a_b, bad session name",
    "demo+0, no process can have pid 0",
    "demo+99999999999, no process can have pid",
    "demo+ps+ro, +ps takes no +ro",
    "demo+work+rw, a user name is",
    "demo+a+b+c, a user name is",
  })
  void refusesOtherSuffixesWithAReasonButKeepsTheBase(String user, String reason) {
    LoginName name = LoginName.parse(user);
    assertThat(name.form()).isEqualTo(Form.INVALID);
    assertThat(name.base()).isEqualTo("demo");
    assertThat(name.problem()).contains(reason);
  }
}
