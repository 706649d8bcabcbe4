-- Who made each transition (agent, person, watch, policy) and, for the healing policy, the
-- policy lines that allowed it. Rows written before this migration keep NULL: not recorded.
ALTER TABLE selfheal_improvement_events ADD COLUMN actor TEXT;
ALTER TABLE selfheal_improvement_events ADD COLUMN rule TEXT;
