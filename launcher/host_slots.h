// Hosts and their slots for mpirun without Slurm (trial.hosts, an Open MPI
// host file), and the pool that packs concurrent trials onto disjoint slots:
// a trial goes on one host when one has room (the fullest that fits, so
// large holes stay for large trials), else across the hosts with the most
// free slots, as few as cover it. Plain data; no processes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace polysweep {

struct HostSlots {
  std::string host;
  int slots = 1;
};

// Open MPI's host file format: "HOST [slots=N]" per line (N 1 by default),
// '#' comments, blank lines; a host listed twice adds its slots. Errors
// name `where` and the line.
StatusOr<std::vector<HostSlots>> ParseHostFile(const std::string& text, const std::string& where);
StatusOr<std::vector<HostSlots>> LoadHostFile(const std::string& path);

// Where a trial's ranks go: host -> ranks, in the pool's host order.
using Placement = std::vector<HostSlots>;
// "a:2,b:2": mpirun's --host argument.
std::string PlacementText(const Placement& p);
StatusOr<Placement> ParsePlacement(const std::string& text);

// The IPv4 network (CIDR, "10.77.0.0/24") of this host's interface that
// holds `address`; empty when none does (a name, a wildcard, loopback).
std::string SubnetOf(const std::string& address);

class SlotPool {
 public:
  explicit SlotPool(std::vector<HostSlots> hosts);
  int total() const;
  // `ranks` free slots, marked taken; nullopt when fewer are free.
  std::optional<Placement> Reserve(int ranks);
  // Takes exactly `p` (a trial found running again after a restart); false
  // when a host is unknown or has too few free slots.
  bool ReserveExactly(const Placement& p);
  void Release(const Placement& p);
  int free_slots(const std::string& host) const;
  // A host that stopped answering: given no new trials (its slots count as
  // taken); false when it was down already.
  bool MarkDown(const std::string& host);
  // The slots of the hosts found down, and those hosts.
  int down_slots() const;
  std::vector<std::string> down_hosts() const;
  // A host found down that answers again: given trials again; false when it
  // was not down.
  bool MarkUp(const std::string& host);

 private:
  mutable std::mutex mu_;
  std::vector<HostSlots> hosts_;
  std::map<std::string, int> used_;
  std::set<std::string> down_;
};

}  // namespace polysweep
