#!/bin/sh
# An exec test plugin: the policy's "mode" in the input picks what it does
# (see tests/plugins/misbehave.c for the list). Needs PATH in its environment.
input=$(cat)
case "$input" in
*'"mode":"crash"'*) kill -SEGV $$ ;;
*'"mode":"hang"'*) while :; do :; done ;;
*'"mode":"alloc"'*) exec python3 -c 'x = []
while True: x.append(bytearray(1 << 20))' ;;
*'"mode":"garbage"'*) echo 'this is not json' ;;
*'"mode":"oversize"'*) head -c 100000 /dev/zero | tr '\0' a ;;
*'"mode":"exit"'*) exit 3 ;;
*'"mode":"silent"'*) exit 0 ;;
*'"mode":"child"'*) sleep 60 & echo '{"reason":{},"verdict":"APPROVE"}'; exec sleep 60 ;;
*'"mode":"reject"'*) echo '{"reason":{"ok":false},"verdict":"REJECT"}' ;;
*'"mode":"probe"'*) echo "{\"reason\":{\"env\":$(env | wc -l),\"fds\":$(ls /proc/self/fd | wc -l)},\"verdict\":\"APPROVE\"}" ;;
*) echo '{"reason":{"ok":true},"verdict":"APPROVE"}' ;;
esac
