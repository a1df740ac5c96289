//! The rule engine: conditions compiled to per-axis value sets, and the validity rules built
//! from them. A cell is a slice of value indices, one per axis, in definition order.

/// The values of one axis a condition accepts, as a membership table indexed by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub axis: usize,
    pub accepts: Vec<bool>,
}

impl Condition {
    pub fn holds(&self, cell: &[usize]) -> bool {
        self.accepts[cell[self.axis]]
    }
}

/// Conditions that must all hold; an empty clause always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clause {
    /// Sorted by axis, at most one condition per axis.
    pub conditions: Vec<Condition>,
}

impl Clause {
    pub fn holds(&self, cell: &[usize]) -> bool {
        self.conditions.iter().all(|c| c.holds(cell))
    }

    /// The highest axis index the clause reads, if any.
    pub fn last_axis(&self) -> Option<usize> {
        self.conditions.iter().map(|c| c.axis).max()
    }
}

/// A named validity rule: `premise ⇒ conclusion`, or `premise ⇔ conclusion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub reason: String,
    pub premise: Clause,
    pub conclusion: Clause,
    /// `iff`: the conclusion also implies the premise.
    pub both_ways: bool,
}

impl Rule {
    pub fn holds(&self, cell: &[usize]) -> bool {
        let premise = self.premise.holds(cell);
        let conclusion = self.conclusion.holds(cell);
        if self.both_ways {
            premise == conclusion
        } else {
            !premise || conclusion
        }
    }

    /// The axis after whose assignment the rule can be decided: expansion checks the rule
    /// there, so a branch that breaks it is cut before the axes after it are enumerated.
    pub fn decided_at(&self) -> usize {
        self.premise
            .last_axis()
            .into_iter()
            .chain(self.conclusion.last_axis())
            .max()
            .unwrap_or(0)
    }
}

/// The rules a combination breaks, in definition order.
pub fn broken_rules<'r>(rules: &'r [Rule], cell: &[usize]) -> Vec<&'r Rule> {
    rules.iter().filter(|rule| !rule.holds(cell)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(axis: usize, width: usize, value: usize) -> Condition {
        let mut accepts = vec![false; width];
        accepts[value] = true;
        Condition { axis, accepts }
    }

    fn rule(premise: Condition, conclusion: Condition, both_ways: bool) -> Rule {
        Rule {
            name: "r".into(),
            reason: "because".into(),
            premise: Clause {
                conditions: vec![premise],
            },
            conclusion: Clause {
                conditions: vec![conclusion],
            },
            both_ways,
        }
    }

    #[test]
    fn implication_only_binds_when_the_premise_holds() {
        let r = rule(only(0, 2, 1), only(1, 2, 1), false);
        assert!(r.holds(&[0, 0]));
        assert!(r.holds(&[0, 1]));
        assert!(!r.holds(&[1, 0]));
        assert!(r.holds(&[1, 1]));
    }

    #[test]
    fn equivalence_binds_both_ways() {
        let r = rule(only(0, 2, 1), only(1, 2, 1), true);
        assert!(r.holds(&[0, 0]));
        assert!(!r.holds(&[0, 1]));
        assert!(!r.holds(&[1, 0]));
        assert!(r.holds(&[1, 1]));
    }

    #[test]
    fn a_rule_is_decided_at_its_last_axis() {
        let r = rule(only(3, 2, 1), only(1, 2, 1), false);
        assert_eq!(r.decided_at(), 3);
        assert_eq!(
            broken_rules(std::slice::from_ref(&r), &[0, 0, 0, 1]).len(),
            1
        );
    }
}
