// Package intake holds the gateway's delivery contract for inbound
// messages: ack → journal → dispatch → done. A message is journalled
// before the channel's handle returns (so before its frame is acked); a
// redelivery of a journalled message is never dispatched twice; a turn
// cut short by shutdown leaves its message pending for the next start;
// an answered, refused or dead-lettered message is done. It knows no
// channel: any picoclaw.Channel's handle func can be Accept.
package intake
