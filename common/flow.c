#include "flow.h"

/* Samples the rate allows beyond those already taken; a batch may be drawn while it is >= 0.
 * In samples (not transitions) so the k-th batch test is one comparison; -1 before min_size. */
static double sample_budget(const flow_limits_t *l, uint64_t inserted, uint64_t sampled) {
  if (inserted < l->min_size) return -1.0;
  return (double)(inserted - l->min_size) * l->spi - (double)sampled;
}

int flow_may_sample(const flow_limits_t *l, uint64_t inserted, uint64_t sampled) {
  return sample_budget(l, inserted, sampled) >= 0.0;
}

int flow_ahead(const flow_limits_t *l, uint64_t inserted, uint64_t sampled) {
  if (inserted < l->min_size) return 0; /* filling up to min_size: nothing is sampled yet */
  return sample_budget(l, inserted, sampled) > (double)l->slack * l->spi;
}

int flow_credit_receive(flow_credit_t *c, uint64_t n) {
  c->received += n;
  return c->received > c->granted ? -1 : 0;
}

uint64_t flow_credit_due(flow_credit_t *c, uint64_t window, int ahead) {
  if (ahead) {
    c->owed = 1;
    return 0;
  }
  uint64_t outstanding = c->granted - c->received;
  /* Half the window still unused: a top-up now would be a small frame soon followed by more. */
  if (outstanding >= window || window - outstanding < (window + 1) / 2) return 0;
  return window - outstanding;
}

void flow_credit_sent(flow_credit_t *c, uint64_t n) {
  if (n == 0) return; /* no frame went out: what is owed stays owed */
  c->granted += n;
  c->owed = 0;
}

int flow_wake_due(uint64_t updates) { return updates % FLOW_WAKE_UPDATES == 0; }
