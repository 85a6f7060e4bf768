//! Choosing a group's leader over its `BroadcastChannel` alone, where the browser has no Web
//! Locks (pages served over plain HTTP from anything but localhost: the Web Locks API exists only
//! in secure contexts). Pure code, tested natively; `leadership` feeds it the channel's messages
//! and its timer, and posts what it says.
//!
//! Each tab standing for the lead has a random rank. The rules:
//! - A tab that stands while a leader is heard (a heartbeat within [`LEADER_TIMEOUT_MS`]) follows
//!   it; otherwise it posts a claim and, unless it hears a leader or a higher claim within
//!   [`CLAIM_WINDOW_MS`], leads. A claimant that hears a lower claim posts its own again, so the
//!   lower one yields even if it missed the first.
//! - The leader posts a heartbeat every [`HEARTBEAT_MS`], and at once when it hears a claim (a
//!   leader is never displaced by a newcomer, whatever their ranks).
//! - A follower that hears no heartbeat for [`LEADER_TIMEOUT_MS`] (the leader's page froze or died
//!   without a word), or hears its leader resign (hidden, closed, reloaded), claims.
//! - Two leaders (a claim window that ran out while a busy leader could not answer): the lower
//!   rank yields as soon as it hears the higher one's heartbeat, and the higher answers any lower
//!   heartbeat with its own, so there is one leader again within a message round.
//!
//! The guarantees against lost or doubled events do not rest on the election: every tab applies
//! the dedupe rule, and a new leader resumes from the group's last id, so a moment with two
//! leaders costs a second connection, never an event.

/// How often the leader tells the group it is there.
pub const HEARTBEAT_MS: f64 = 1000.0;
/// Silence after which a follower takes the leader for gone: three heartbeats.
pub const LEADER_TIMEOUT_MS: f64 = 3000.0;
/// How long a claimant waits for a leader or a higher claim before it leads.
pub const CLAIM_WINDOW_MS: f64 = 250.0;

/// What tabs of a group tell each other about the lead, with the sender's rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Claim(u64),
    Heartbeat(u64),
    Resign(u64),
}

impl Message {
    /// The message's kind on the channel (one letter, as the group's other messages).
    pub fn kind(self) -> &'static str {
        match self {
            Self::Claim(_) => "c",
            Self::Heartbeat(_) => "h",
            Self::Resign(_) => "q",
        }
    }

    pub fn rank(self) -> u64 {
        match self {
            Self::Claim(rank) | Self::Heartbeat(rank) | Self::Resign(rank) => rank,
        }
    }

    /// The message of `kind` from `rank` (as the channel carries it), if it is one of these.
    pub fn parse(kind: &str, rank: &str) -> Option<Self> {
        let rank = rank.parse().ok()?;
        match kind {
            "c" => Some(Self::Claim(rank)),
            "h" => Some(Self::Heartbeat(rank)),
            "q" => Some(Self::Resign(rank)),
            _ => None,
        }
    }
}

/// This tab's lead changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Elected,
    /// Another leader outranks this one: stop leading (the tab stays in the group, following).
    Deposed,
}

/// What a step of the election asks of the tab: a message to post, a change of lead.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub post: Option<Message>,
    pub change: Option<Change>,
}

impl Step {
    fn post(message: Message) -> Self {
        Self { post: Some(message), change: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Not standing (hidden, closed): only listens, to know the leader when it stands.
    Idle,
    Following,
    Claiming {
        since: f64,
    },
    Leading,
}

/// One tab's part in the election of one group. Times are milliseconds of one clock.
#[derive(Debug)]
pub struct Election {
    rank: u64,
    phase: Phase,
    /// The rank of the leader (or the higher claimant) last heard, and when.
    leader: Option<u64>,
    heard_at: f64,
    /// When this tab, leading, last posted a heartbeat.
    sent_at: f64,
}

impl Election {
    pub fn new(rank: u64) -> Self {
        Self { rank, phase: Phase::Idle, leader: None, heard_at: f64::NEG_INFINITY, sent_at: 0.0 }
    }

    fn leader_heard(&self, now: f64) -> bool {
        self.leader.is_some() && now < self.heard_at + LEADER_TIMEOUT_MS
    }

    fn claim(&mut self, now: f64) -> Step {
        self.phase = Phase::Claiming { since: now };
        Step::post(Message::Claim(self.rank))
    }

    fn heartbeat(&mut self, now: f64) -> Message {
        self.sent_at = now;
        Message::Heartbeat(self.rank)
    }

    /// The tab is visible: follow the leader heard, or claim. Nothing if already standing.
    pub fn stand(&mut self, now: f64) -> Step {
        match self.phase {
            Phase::Idle if self.leader_heard(now) => {
                self.phase = Phase::Following;
                Step::default()
            }
            Phase::Idle => self.claim(now),
            _ => Step::default(),
        }
    }

    /// The tab is hidden or goes: a leader resigns, so the others claim at once.
    pub fn withdraw(&mut self) -> Step {
        let was = std::mem::replace(&mut self.phase, Phase::Idle);
        if was == Phase::Leading {
            Step::post(Message::Resign(self.rank))
        } else {
            Step::default()
        }
    }

    /// A message from another tab of the group.
    pub fn hear(&mut self, now: f64, message: Message) -> Step {
        match message {
            Message::Heartbeat(rank) => {
                self.leader = Some(rank);
                self.heard_at = now;
                match self.phase {
                    Phase::Leading if rank > self.rank => {
                        self.phase = Phase::Following;
                        Step { post: None, change: Some(Change::Deposed) }
                    }
                    Phase::Leading => Step::post(self.heartbeat(now)),
                    Phase::Claiming { .. } => {
                        self.phase = Phase::Following;
                        Step::default()
                    }
                    Phase::Idle | Phase::Following => Step::default(),
                }
            }
            Message::Claim(rank) => match self.phase {
                Phase::Leading => Step::post(self.heartbeat(now)),
                Phase::Claiming { .. } if rank > self.rank => {
                    // Yield, and wait for the higher claimant to lead (or claim again if it
                    // never does).
                    self.phase = Phase::Following;
                    self.leader = Some(rank);
                    self.heard_at = now;
                    Step::default()
                }
                Phase::Claiming { .. } => Step::post(Message::Claim(self.rank)),
                Phase::Idle | Phase::Following => Step::default(),
            },
            Message::Resign(rank) => {
                if self.leader.is_some_and(|leader| leader != rank) {
                    // Not the leader this tab follows (e.g. one that was just deposed).
                    return Step::default();
                }
                self.leader = None;
                self.heard_at = f64::NEG_INFINITY;
                match self.phase {
                    Phase::Following => self.claim(now),
                    _ => Step::default(),
                }
            }
        }
    }

    /// The timer reached [`Election::deadline`] (or any time later).
    pub fn tick(&mut self, now: f64) -> Step {
        match self.phase {
            Phase::Leading if now >= self.sent_at + HEARTBEAT_MS => Step::post(self.heartbeat(now)),
            Phase::Claiming { since } if now >= since + CLAIM_WINDOW_MS => {
                self.phase = Phase::Leading;
                self.leader = None;
                Step { post: Some(self.heartbeat(now)), change: Some(Change::Elected) }
            }
            Phase::Following if now >= self.heard_at + LEADER_TIMEOUT_MS => {
                self.leader = None;
                self.claim(now)
            }
            _ => Step::default(),
        }
    }

    /// When the next [`Election::tick`] is due (`None`: not standing).
    pub fn deadline(&self) -> Option<f64> {
        match self.phase {
            Phase::Idle => None,
            Phase::Following => Some(self.heard_at + LEADER_TIMEOUT_MS),
            Phase::Claiming { since } => Some(since + CLAIM_WINDOW_MS),
            Phase::Leading => Some(self.sent_at + HEARTBEAT_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    impl Election {
        fn leading(&self) -> bool {
            self.phase == Phase::Leading
        }

        fn standing(&self) -> bool {
            self.phase != Phase::Idle
        }
    }

    /// Tabs of one group on a simulated channel: every message posted reaches every other tab.
    struct Group {
        tabs: Vec<Election>,
        now: f64,
        /// Per tab, the changes it was told of.
        changes: Vec<Vec<Change>>,
        /// Tabs whose messages are lost (a frozen page that cannot post).
        muted: Vec<bool>,
    }

    impl Group {
        fn new(ranks: &[u64]) -> Self {
            Self {
                tabs: ranks.iter().map(|&r| Election::new(r)).collect(),
                now: 0.0,
                changes: vec![Vec::new(); ranks.len()],
                muted: vec![false; ranks.len()],
            }
        }

        fn apply(&mut self, from: usize, step: Step) {
            let mut queue = VecDeque::from([(from, step)]);
            while let Some((from, step)) = queue.pop_front() {
                if let Some(change) = step.change {
                    self.changes[from].push(change);
                }
                let Some(message) = step.post else { continue };
                if self.muted[from] {
                    continue;
                }
                for to in 0..self.tabs.len() {
                    if to != from {
                        let step = self.tabs[to].hear(self.now, message);
                        queue.push_back((to, step));
                    }
                }
            }
        }

        fn stand(&mut self, tab: usize) {
            let step = self.tabs[tab].stand(self.now);
            self.apply(tab, step);
        }

        fn withdraw(&mut self, tab: usize) {
            let step = self.tabs[tab].withdraw();
            self.apply(tab, step);
        }

        /// Runs the tabs' timers until `until`, each tick at its deadline.
        fn run_until(&mut self, until: f64) {
            loop {
                let next = (0..self.tabs.len())
                    .filter_map(|i| self.tabs[i].deadline().map(|d| (d, i)))
                    .filter(|(d, _)| *d <= until)
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                let Some((at, tab)) = next else { break };
                self.now = self.now.max(at);
                let step = self.tabs[tab].tick(self.now);
                self.apply(tab, step);
            }
            self.now = until;
        }

        fn leaders(&self) -> Vec<usize> {
            (0..self.tabs.len()).filter(|&i| self.tabs[i].leading()).collect()
        }
    }

    #[test]
    fn a_lone_tab_leads_after_the_claim_window() {
        let mut group = Group::new(&[7]);
        group.stand(0);
        assert!(group.leaders().is_empty());
        group.run_until(CLAIM_WINDOW_MS - 1.0);
        assert!(group.leaders().is_empty());
        group.run_until(CLAIM_WINDOW_MS);
        assert_eq!(group.leaders(), [0]);
        assert_eq!(group.changes[0], [Change::Elected]);
        // It stays leader while nobody else stands.
        group.run_until(60_000.0);
        assert_eq!(group.changes[0], [Change::Elected]);
    }

    #[test]
    fn tabs_standing_together_elect_the_highest_rank_once() {
        let mut group = Group::new(&[5, 9, 2, 7]);
        for tab in 0..4 {
            group.stand(tab);
        }
        group.run_until(10_000.0);
        assert_eq!(group.leaders(), [1]);
        assert_eq!(group.changes, [vec![], vec![Change::Elected], vec![], vec![]]);
    }

    #[test]
    fn a_newcomer_follows_the_leader_whatever_its_rank() {
        let mut group = Group::new(&[3, 100]);
        group.stand(0);
        group.run_until(2_000.0);
        // A tab just opened: it heard nothing yet, so it claims; the leader answers at once.
        group.tabs[1] = Election::new(100);
        group.stand(1);
        assert!(!group.tabs[1].leading());
        group.run_until(20_000.0);
        assert_eq!(group.leaders(), [0]);
        assert!(group.changes[1].is_empty());
    }

    #[test]
    fn a_tab_that_heard_the_leader_while_hidden_follows_at_once() {
        let mut group = Group::new(&[3, 100]);
        group.stand(0);
        group.run_until(2_000.0);
        // Tab 1 listened (idle) and heard the heartbeats: standing posts nothing.
        let step = group.tabs[1].stand(group.now);
        assert_eq!(step, Step::default());
        assert!(group.tabs[1].standing());
    }

    #[test]
    fn a_resigning_leader_is_replaced_at_once_by_one_tab() {
        let mut group = Group::new(&[8, 4, 6]);
        group.stand(0);
        group.run_until(1_000.0);
        group.stand(1);
        group.stand(2);
        group.run_until(5_000.0);
        assert_eq!(group.leaders(), [0]);
        group.withdraw(0);
        // Within one claim window, not a timeout.
        group.run_until(5_000.0 + CLAIM_WINDOW_MS);
        assert_eq!(group.leaders(), [2]);
        group.run_until(30_000.0);
        assert_eq!(group.leaders(), [2]);
        assert_eq!(group.changes[1], []);
    }

    #[test]
    fn a_silent_leader_is_replaced_after_the_timeout() {
        let mut group = Group::new(&[8, 4]);
        group.stand(0);
        group.run_until(1_000.0);
        group.stand(1);
        group.run_until(5_000.0);
        assert_eq!(group.leaders(), [0]);
        // The leader's page dies without a word: its election state is simply gone.
        group.muted[0] = true;
        let last_heard = group.tabs[1].heard_at;
        group.run_until(last_heard + LEADER_TIMEOUT_MS - 1.0);
        assert!(!group.tabs[1].leading());
        group.run_until(last_heard + LEADER_TIMEOUT_MS + CLAIM_WINDOW_MS);
        assert!(group.tabs[1].leading());
    }

    #[test]
    fn of_two_leaders_the_lower_rank_yields() {
        let mut group = Group::new(&[4, 8]);
        // Both elected without hearing each other (a frozen page's messages arrive late).
        group.muted = vec![true, true];
        group.stand(0);
        group.stand(1);
        group.run_until(CLAIM_WINDOW_MS);
        assert_eq!(group.leaders(), [0, 1]);
        group.muted = vec![false, false];
        group.run_until(CLAIM_WINDOW_MS + HEARTBEAT_MS);
        assert_eq!(group.leaders(), [1]);
        assert_eq!(group.changes[0], [Change::Elected, Change::Deposed]);
        assert_eq!(group.changes[1], [Change::Elected]);
        group.run_until(30_000.0);
        assert_eq!(group.leaders(), [1]);
    }

    #[test]
    fn a_claimant_that_missed_a_higher_claim_still_yields() {
        let mut group = Group::new(&[4, 8]);
        group.muted[1] = true;
        group.stand(1);
        group.muted[1] = false;
        // Tab 0 claims after tab 1's claim went by: tab 1 claims again on hearing it.
        group.stand(0);
        group.run_until(10_000.0);
        assert_eq!(group.leaders(), [1]);
        assert!(group.changes[0].is_empty());
    }

    #[test]
    fn a_withdrawn_tab_neither_leads_nor_ticks() {
        let mut election = Election::new(1);
        assert_eq!(election.stand(0.0).post, Some(Message::Claim(1)));
        assert_eq!(election.withdraw(), Step::default(), "a claimant leaves without a word");
        assert_eq!(election.deadline(), None);
        assert_eq!(election.tick(1e9), Step::default());
        election.stand(1e9);
        election.tick(1e9 + CLAIM_WINDOW_MS);
        assert!(election.leading());
        assert_eq!(election.withdraw().post, Some(Message::Resign(1)));
        assert!(!election.standing());
    }

    #[test]
    fn messages_round_trip_through_their_channel_form() {
        for message in [Message::Claim(12), Message::Heartbeat(0), Message::Resign(u64::from(u32::MAX))] {
            assert_eq!(Message::parse(message.kind(), &message.rank().to_string()), Some(message));
        }
        assert_eq!(Message::parse("e", "1"), None);
        assert_eq!(Message::parse("h", "x"), None);
    }
}
