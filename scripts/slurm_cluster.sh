#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for `hydra/launcher=slurm` and the
# `slurm` tests (docs/cluster.md). Needs root and Debian/Ubuntu (slurm-wlm, 22.05 on
# Debian 12). No munge, no slurmdbd: auth/none + cred/none, every path under one folder.
#
#   eval "$(scripts/slurm_cluster.sh start)"   # installs slurm-wlm if missing, starts
#                                              # slurmctld + slurmd, prints `export SLURM_CONF=…`
#   scripts/slurm_cluster.sh status            # daemons, sinfo, squeue
#   scripts/slurm_cluster.sh stop              # stops both daemons by their pid files
#
# RUNNER_SLURM_DIR (default /tmp/runner-slurm) holds slurm.conf, state, spool, logs,
# pid files and jobcomp.log (one line per finished job: there is no accounting
# database, so `sacct` is unavailable; `scontrol show job ID` works for 5 minutes).
# RUNNER_SLURM_PORT (default 6817; slurmd uses the next port) to run beside another cluster.
# Only the export line goes to stdout; everything else goes to stderr.
set -euo pipefail

DIR=${RUNNER_SLURM_DIR:-/tmp/runner-slurm}
PORT=${RUNNER_SLURM_PORT:-6817}
CONF=$DIR/slurm.conf
NODE=$(hostname -s)

say() { echo "slurm_cluster: $*" >&2; }

alive() {  # alive PIDFILE: the daemon whose pid is in PIDFILE is running
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null; then
        return
    fi
    [[ $(id -u) == 0 ]] || { say "slurm-wlm is not installed and this is not root: install it (apt-get install slurm-wlm)"; exit 1; }
    command -v apt-get >/dev/null || { say "no apt-get: install SLURM (slurmctld, slurmd, sbatch) yourself"; exit 1; }
    say "installing slurm-wlm (apt-get, ~30 s)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq slurm-wlm >&2
}

write_conf() {
    local cpus mem_mb
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    mkdir -p "$DIR/state" "$DIR/spool"
    cat >"$CONF" <<EOF
# Written by scripts/slurm_cluster.sh: a one-node test cluster, everything under $DIR.
ClusterName=runner
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
# no munge: fine for a single test machine, never for a shared cluster
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
# cores are consumable, memory is not: two 1-CPU jobs run side by side on 2 cores
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# no slurmdbd: finished jobs are listed in jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
JobRequeue=1
ReturnToService=2
KillWait=30
MinJobAge=300
InactiveLimit=0
Waittime=0
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then
        say "already running ($CONF)"
        echo "export SLURM_CONF=$CONF"
        return
    fi
    stop quiet
    install
    write_conf
    export SLURM_CONF=$CONF
    # -c: a clean start (no jobs or state left from an earlier cluster in $DIR)
    slurmctld -c -f "$CONF"
    slurmd -f "$CONF"
    local waited=0
    until sinfo -h -o "%t" 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; do
        if ((waited >= 60)); then
            say "the node did not come up in 60 s; logs: $DIR/slurmctld.log $DIR/slurmd.log"
            tail -n 20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
            exit 1
        fi
        # a node registering as down (e.g. after an unclean stop) is brought back
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        sleep 1
        waited=$((waited + 1))
    done
    say "up: node $NODE ($(nproc) CPUs), partition debug, config $CONF"
    echo "export SLURM_CONF=$CONF"
}

stop() {
    local daemon pid stopped=0
    for daemon in slurmd slurmctld; do
        if alive "$DIR/$daemon.pid"; then
            pid=$(cat "$DIR/$daemon.pid")
            kill "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            stopped=1
        fi
        rm -f "$DIR/$daemon.pid"
    done
    [[ ${1:-} == quiet ]] || { ((stopped)) && say "stopped" || say "not running"; }
}

status() {
    local daemon running=1
    for daemon in slurmctld slurmd; do
        if alive "$DIR/$daemon.pid"; then
            say "$daemon running (pid $(cat "$DIR/$daemon.pid"))"
        else
            say "$daemon not running"
            running=0
        fi
    done
    if ((running)); then
        SLURM_CONF=$CONF sinfo >&2
        SLURM_CONF=$CONF squeue >&2
        echo "export SLURM_CONF=$CONF"
    fi
    ((running))
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
