package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelListener;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.AbstractServerSession;
import org.apache.sshd.server.session.ServerConnectionService;
import org.apache.sshd.server.session.ServerConnectionServiceFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "ssh-connection" service with a cap on the channels of one connection: past it a channel open
 * gets {@code SSH_MSG_CHANNEL_OPEN_FAILURE} with reason {@code SSH_OPEN_RESOURCE_SHORTAGE} (RFC
 * 4254 section 5.1) and the connection and its other channels go on, as with sshd's MaxSessions.
 *
 * <p>Threat: a client opening channels without end, each holding buffers, a bridge and possibly a
 * process in the sandbox. MINA's own cap ({@code MAX_CONCURRENT_CHANNELS}) ends the whole
 * connection instead, so it only stays as the backstop for channels the gateway opens itself
 * ({@code forwarded-tcpip} for {@code -R}).
 *
 * <p>A channel that fails to open sends the client its own reason ("Connection refused", "not in
 * forwarding.permit-open"), as sshd does: MINA would send "Generic error while opening channel: N"
 * in place of every reason that comes with an SSH reason code.
 */
public final class ChannelLimits extends ServerConnectionServiceFactory {
  private static final Logger log = LoggerFactory.getLogger(ChannelLimits.class);

  private final int maxSessions;
  private final int maxChannels;

  /** At most {@code maxSessions} session channels and {@code maxChannels} in all per connection. */
  public ChannelLimits(int maxSessions, int maxChannels) {
    this.maxSessions = maxSessions;
    this.maxChannels = maxChannels;
  }

  @Override
  public org.apache.sshd.common.Service create(Session session) throws IOException {
    LimitedConnectionService service =
        new LimitedConnectionService((AbstractServerSession) session);
    service.addPortForwardingEventListenerManager(this);
    session.addChannelListener(service.openFailures);
    return service;
  }

  private final class LimitedConnectionService extends ServerConnectionService {
    private boolean logged;
    // Why a channel the client asked for failed to open, by the client's channel number: from the
    // channel's failure signal until MINA sends the refusal. A channel that refuses at once has
    // closed, and left the service's channels, by then.
    private final Map<Long, String> openFailureReasons = new ConcurrentHashMap<>();
    final ChannelListener openFailures =
        new ChannelListener() {
          @Override
          public void channelOpenFailure(Channel channel, Throwable reason) {
            String text = reason.getMessage();
            // Only channels the client opens get a refusal sent; the gateway's own (-R, -A) are
            // refused by the client.
            if (channel instanceof AbstractServerChannel && text != null && !text.isBlank()) {
              openFailureReasons.put(channel.getRecipient(), text);
            }
          }
        };

    LimitedConnectionService(AbstractServerSession session) throws IOException {
      super(session);
    }

    @Override
    protected void channelOpen(Buffer buffer) throws Exception {
      int start = buffer.rpos();
      String type = buffer.getString();
      long sender = buffer.getUInt();
      buffer.rpos(start);
      // The client reuses the number only once its channel of that number is gone.
      openFailureReasons.remove(sender);
      int channels = 0;
      int sessions = 0;
      for (Channel c : getChannels()) {
        channels++;
        if (c instanceof ChannelSession) {
          sessions++;
        }
      }
      String refusal = null;
      if (channels >= maxChannels) {
        refusal = "too many open channels (limit " + maxChannels + ")";
      } else if ("session".equals(type) && sessions >= maxSessions) {
        refusal = "too many open sessions (limit " + maxSessions + ")";
      }
      if (refusal == null) {
        super.channelOpen(buffer);
        return;
      }
      if (!logged) {
        // Once per connection: a flood must not flood the log too.
        logged = true;
        log.warn(
            "channel refused: {} type={} user={} from={}",
            refusal,
            type,
            getSession().getUsername(),
            getSession().getRemoteAddress());
      }
      sendChannelOpenFailure(buffer, sender, SshConstants.SSH_OPEN_RESOURCE_SHORTAGE, refusal, "");
    }

    @Override
    protected IoWriteFuture sendChannelOpenFailure(
        Buffer buffer, long sender, int reasonCode, String message, String lang)
        throws IOException {
      String reason = openFailureReasons.remove(sender);
      return super.sendChannelOpenFailure(
          buffer, sender, reasonCode, reason != null ? reason : message, lang);
    }
  }
}
