// The divergence tests' shorthand for a DivergenceSpec (divergence_test, divergence_reference_test).
#pragma once

#include "hld/objectives/divergence.h"

namespace hld::objectives::test {

inline DivergenceSpec spec(config::Divergence kind, config::TailMode tail, double beta = 0.5, double skew = 0.1) {
  DivergenceSpec s;
  s.kind = kind;
  s.tail = tail;
  s.jsd_beta = beta;
  s.skew = skew;
  return s;
}

}  // namespace hld::objectives::test
