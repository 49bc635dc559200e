//! Turning a layout into the screen area of each panel (pure).

use ratatui::layout::{Layout as Splitter, Rect};

use super::{Layout, Node, PanelKind};

/// Pure: the screen area of every panel for a terminal area, in reading order; panels left with no cells are omitted.
pub fn panel_areas(layout: &Layout, area: Rect) -> Vec<(PanelKind, Rect)> {
    let mut areas = Vec::new();
    place(&layout.root, area, &mut areas);
    areas
}

fn place(node: &Node, area: Rect, areas: &mut Vec<(PanelKind, Rect)>) {
    if area.is_empty() {
        return;
    }
    match node {
        Node::Panel { kind, .. } => areas.push((*kind, area)),
        Node::Split {
            direction,
            children,
            ..
        } => {
            let constraints = children.iter().map(|child| child.size().constraint());
            let rects = Splitter::new((*direction).into(), constraints).split(area);
            for (child, rect) in children.iter().zip(rects.iter()) {
                place(child, *rect, areas);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{builtin_layouts, resolve_layout};
    use crate::manifest::Source;

    fn layout(text: &str) -> Layout {
        let source = Source {
            path: "test.toml".into(),
            text: format!("name = \"t\"\n{text}"),
        };
        crate::layout::parse_layout(&source).unwrap()
    }

    fn area_of(areas: &[(PanelKind, Rect)], kind: PanelKind) -> Rect {
        areas
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("no {kind} panel in {areas:?}"))
    }

    const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (160, 48)];

    #[test]
    fn shipped_layouts_tile_the_terminal_with_every_panel() {
        for layout in builtin_layouts() {
            for (width, height) in SIZES {
                // Offset, as when the dashboard draws below a header.
                let screen = Rect::new(2, 1, width, height);
                let areas = panel_areas(&layout, screen);
                let at = format!("{} at {width}x{height}", layout.name);
                let kinds: Vec<PanelKind> = areas.iter().map(|(k, _)| *k).collect();
                assert_eq!(kinds, layout.panels(), "{at}");
                for (i, (kind, rect)) in areas.iter().enumerate() {
                    assert!(!rect.is_empty(), "{at}: {kind} is empty");
                    assert_eq!(
                        rect.intersection(screen),
                        *rect,
                        "{at}: {kind} leaves the screen"
                    );
                    for (other, other_rect) in &areas[i + 1..] {
                        assert!(
                            !rect.intersects(*other_rect),
                            "{at}: {kind} overlaps {other}"
                        );
                    }
                }
                let covered: u32 = areas.iter().map(|(_, r)| r.area()).sum();
                assert_eq!(covered, screen.area(), "{at}: panels leave a gap");
                let status = area_of(&areas, PanelKind::Status);
                assert_eq!(status.height, 1, "{at}");
                assert_eq!((status.x, status.width), (screen.x, screen.width), "{at}");
                assert_eq!(status.bottom(), screen.bottom(), "{at}");
            }
        }
    }

    #[test]
    fn compact_fits_80x24_with_a_usable_services_table() {
        let layout = resolve_layout("compact").unwrap();
        let areas = panel_areas(&layout, Rect::new(0, 0, 80, 24));
        let services = area_of(&areas, PanelKind::Services);
        assert!(services.height >= 8, "{services:?}");
        assert_eq!(services.width, 80);
        assert!(area_of(&areas, PanelKind::Infra).height >= 5);
        assert!(area_of(&areas, PanelKind::Alerts).height <= 2);
        assert!(!layout.panels().contains(&PanelKind::Detail));
    }

    #[test]
    fn default_shows_every_service_and_keeps_8_rows_at_80x24() {
        let layout = resolve_layout("default").unwrap();
        for (width, height) in [(120, 40), (160, 48)] {
            let areas = panel_areas(&layout, Rect::new(0, 0, width, height));
            let services = area_of(&areas, PanelKind::Services);
            // 12 AnyChat services, a header row and two borders.
            assert!(services.height >= 15, "{width}x{height}: {services:?}");
            assert!(services.width >= 70, "{width}x{height}: {services:?}");
            assert_eq!(area_of(&areas, PanelKind::Infra).height, 11);
            assert_eq!(area_of(&areas, PanelKind::Alerts).height, 3);
            assert!(area_of(&areas, PanelKind::Detail).width >= 45);
            assert!(area_of(&areas, PanelKind::Logs).height >= 8);
        }
        let areas = panel_areas(&layout, Rect::new(0, 0, 80, 24));
        assert_eq!(
            area_of(&areas, PanelKind::Services).height,
            8,
            "min = 8 kept"
        );
    }

    #[test]
    fn focus_gives_the_selected_service_most_of_the_screen() {
        let layout = resolve_layout("focus").unwrap();
        let areas = panel_areas(&layout, Rect::new(0, 0, 160, 48));
        let services = area_of(&areas, PanelKind::Services);
        let detail = area_of(&areas, PanelKind::Detail);
        let logs = area_of(&areas, PanelKind::Logs);
        assert_eq!(services.width, 26);
        assert!(
            detail.area() > 2 * services.area(),
            "{detail:?} vs {services:?}"
        );
        assert!(
            logs.area() > 2 * services.area(),
            "{logs:?} vs {services:?}"
        );
        assert_eq!(detail.x, logs.x);
        assert!(detail.y < logs.y);
    }

    #[test]
    fn fixed_lengths_are_honoured() {
        let layout = layout(
            "[root]\ndirection = \"vertical\"\nchildren = [{ panel = \"alerts\", length = 7 }, { panel = \"logs\" }, { panel = \"status\", length = 1 }]",
        );
        let areas = panel_areas(&layout, Rect::new(0, 0, 50, 30));
        assert_eq!(area_of(&areas, PanelKind::Alerts), Rect::new(0, 0, 50, 7));
        assert_eq!(area_of(&areas, PanelKind::Logs), Rect::new(0, 7, 50, 22));
        assert_eq!(area_of(&areas, PanelKind::Status), Rect::new(0, 29, 50, 1));
    }

    #[test]
    fn ratios_split_the_space_proportionally() {
        let layout = layout(
            "[root]\ndirection = \"horizontal\"\nchildren = [{ panel = \"services\", ratio = 1 }, { panel = \"detail\", ratio = 3 }]",
        );
        let areas = panel_areas(&layout, Rect::new(0, 0, 100, 10));
        assert_eq!(
            area_of(&areas, PanelKind::Services),
            Rect::new(0, 0, 25, 10)
        );
        assert_eq!(area_of(&areas, PanelKind::Detail), Rect::new(25, 0, 75, 10));
    }

    #[test]
    fn percent_and_min_sizes() {
        let layout = layout(
            "[root]\ndirection = \"horizontal\"\nchildren = [{ panel = \"services\", percent = 30 }, { panel = \"detail\", min = 20 }, { panel = \"logs\", length = 10 }]",
        );
        let areas = panel_areas(&layout, Rect::new(0, 0, 100, 10));
        assert_eq!(area_of(&areas, PanelKind::Services).width, 30);
        // With no ratio beside it, a `min` panel takes what is left.
        assert_eq!(area_of(&areas, PanelKind::Detail).width, 60);
        assert_eq!(area_of(&areas, PanelKind::Logs).width, 10);
        let areas = panel_areas(&layout, Rect::new(0, 0, 40, 10));
        assert!(area_of(&areas, PanelKind::Detail).width >= 20, "{areas:?}");
    }

    #[test]
    fn panels_without_room_are_omitted() {
        let layout = layout(
            "[root]\ndirection = \"vertical\"\nchildren = [{ panel = \"logs\" }, { panel = \"status\", length = 1 }]",
        );
        let areas = panel_areas(&layout, Rect::new(0, 0, 30, 1));
        assert_eq!(areas, [(PanelKind::Status, Rect::new(0, 0, 30, 1))]);
        assert_eq!(panel_areas(&layout, Rect::new(0, 0, 0, 10)), []);
    }
}
