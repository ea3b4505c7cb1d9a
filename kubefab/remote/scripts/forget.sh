# Arguments: STATE_DIR LOCK_DIR. After the lock is released: the lock's flock file and
# STATE_DIR itself, unless another run took the lock meanwhile.
state=$1 lock=$2
[ -d "$lock" ] || rm -f -- "$lock.flock"
rmdir -- "$state" 2>/dev/null
exit 0
