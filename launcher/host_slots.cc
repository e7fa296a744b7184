#include "launcher/host_slots.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "common/files.h"

namespace polysweep {

StatusOr<std::vector<HostSlots>> ParseHostFile(const std::string& text, const std::string& where) {
  std::vector<HostSlots> hosts;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string at = where + ":" + std::to_string(number) + ": ";
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string host, word;
    if (!(words >> host)) continue;
    int slots = 1;
    while (words >> word) {
      const std::string key = word.substr(0, word.find('='));
      const std::string value = word.find('=') == std::string::npos ? "" : word.substr(word.find('=') + 1);
      if (key == "max_slots" || key == "max-slots") continue;
      if (key != "slots" || value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
          value.size() > 6 || std::stoi(value) < 1) {
        return Status::InvalidConfig(at + "expected \"HOST slots=N\" (N at least 1), got \"" + word + "\"");
      }
      slots = std::stoi(value);
    }
    if (host.find_first_of(":,") != std::string::npos) {
      return Status::InvalidConfig(at + "a host name holds no ':' or ',': \"" + host + "\"");
    }
    auto same = std::find_if(hosts.begin(), hosts.end(), [&](const HostSlots& h) { return h.host == host; });
    if (same != hosts.end()) same->slots += slots;
    else hosts.push_back(HostSlots{host, slots});
  }
  if (hosts.empty()) return Status::InvalidConfig(where + ": no hosts (one \"HOST slots=N\" per line)");
  return hosts;
}

StatusOr<std::vector<HostSlots>> LoadHostFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseHostFile(*text, path);
}

std::string PlacementText(const Placement& p) {
  std::string out;
  for (const HostSlots& h : p) out += (out.empty() ? "" : ",") + h.host + ":" + std::to_string(h.slots);
  return out;
}

StatusOr<Placement> ParsePlacement(const std::string& text) {
  Placement p;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t colon = item.rfind(':');
    const std::string n = colon == std::string::npos ? "" : item.substr(colon + 1);
    if (colon == 0 || n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos) {
      return Status::Error("not a placement (HOST:N,...): \"" + text + "\"");
    }
    p.push_back(HostSlots{item.substr(0, colon), std::stoi(n)});
  }
  if (p.empty()) return Status::Error("not a placement (HOST:N,...): \"" + text + "\"");
  return p;
}

std::string SubnetOf(const std::string& address) {
  in_addr want{};
  if (inet_pton(AF_INET, address.c_str(), &want) != 1 || (ntohl(want.s_addr) >> 24) == 127) return "";
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string out;
  for (ifaddrs* i = all; i != nullptr && out.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    const auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
    if (a->sin_addr.s_addr != want.s_addr) continue;
    in_addr net{};
    net.s_addr = a->sin_addr.s_addr & m->sin_addr.s_addr;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &net, text, sizeof text);
    out = std::string(text) + "/" + std::to_string(__builtin_popcount(m->sin_addr.s_addr));
  }
  freeifaddrs(all);
  return out;
}

SlotPool::SlotPool(std::vector<HostSlots> hosts) : hosts_(std::move(hosts)) {}

int SlotPool::total() const {
  return std::accumulate(hosts_.begin(), hosts_.end(), 0, [](int n, const HostSlots& h) { return n + h.slots; });
}

int SlotPool::free_slots(const std::string& host) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const HostSlots& h : hosts_) {
    if (h.host == host) return down_.count(host) ? 0 : h.slots - (used_.count(host) ? used_.at(host) : 0);
  }
  return 0;
}

int SlotPool::down_slots() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const HostSlots& h : hosts_) n += down_.count(h.host) ? h.slots : 0;
  return n;
}

std::vector<std::string> SlotPool::down_hosts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {down_.begin(), down_.end()};
}

bool SlotPool::MarkUp(const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  return down_.erase(host) > 0;
}

bool SlotPool::MarkDown(const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  return down_.insert(host).second;
}

std::optional<Placement> SlotPool::Reserve(int ranks) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<int, size_t>> free;  // (free slots, host index)
  int all = 0;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    const int f = down_.count(hosts_[i].host) ? 0 : hosts_[i].slots - used_[hosts_[i].host];
    if (f > 0) free.emplace_back(f, i);
    all += std::max(0, f);
  }
  if (ranks < 1 || all < ranks) return std::nullopt;
  Placement p;
  // One host if one has room: the one with the least room that fits.
  auto fits = std::min_element(free.begin(), free.end(), [&](const auto& a, const auto& b) {
    const bool fa = a.first >= ranks, fb = b.first >= ranks;
    if (fa != fb) return fa;
    return fa ? a.first < b.first : a.second < b.second;
  });
  if (fits != free.end() && fits->first >= ranks) {
    p.push_back(HostSlots{hosts_[fits->second].host, ranks});
  } else {  // across hosts: the emptiest first, as few as cover it
    std::stable_sort(free.begin(), free.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    int left = ranks;
    for (const auto& [f, i] : free) {
      if (left == 0) break;
      p.push_back(HostSlots{hosts_[i].host, std::min(f, left)});
      left -= p.back().slots;
    }
    std::sort(p.begin(), p.end(), [&](const HostSlots& a, const HostSlots& b) {
      auto index = [&](const std::string& h) {
        return std::find_if(hosts_.begin(), hosts_.end(), [&](const HostSlots& x) { return x.host == h; });
      };
      return index(a.host) < index(b.host);
    });
  }
  for (const HostSlots& h : p) used_[h.host] += h.slots;
  return p;
}

bool SlotPool::ReserveExactly(const Placement& p) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const HostSlots& want : p) {
    auto h = std::find_if(hosts_.begin(), hosts_.end(), [&](const HostSlots& x) { return x.host == want.host; });
    if (h == hosts_.end() || down_.count(want.host) || h->slots - used_[want.host] < want.slots) return false;
  }
  for (const HostSlots& want : p) used_[want.host] += want.slots;
  return true;
}

void SlotPool::Release(const Placement& p) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const HostSlots& h : p) used_[h.host] = std::max(0, used_[h.host] - h.slots);
}

}  // namespace polysweep
